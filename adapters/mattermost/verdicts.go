package mattermost

import (
	"context"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
)

// A channel's privacy verdict costs two or three REST calls (the channel,
// its members, unknown users), and every reply in a channel needed one.
// A passing verdict is kept and reused only while the websocket proves
// nothing changed since it was made:
//
//   - the websocket is connected, in the same session as when the verdict
//     was made: any disconnect or reconnect drops every verdict (events
//     in between are lost to us even when the server replays them);
//   - no event has come since that could change any channel's verdict:
//     every event but the few known to be about posts, typing and
//     presence (verdictNeutral) drops every verdict, as does a gap in the
//     websocket's sequence numbers (a missed event);
//   - the people and trusted members it was judged against are the same
//     (*connection is replaced when they are resolved again);
//   - and, before each use, a barrier has come back over the websocket
//     (barrier.go): an event the server published before the check
//     began (a member added just now) has been read, and has dropped the
//     verdict, by then. A slash command's answer is checked as of the
//     request's arrival instead, when the command was quick (slash.go).
//
// A verdict made by a REST check is stored only if no such event arrived
// while the check ran (it may have read the channel before the change).
// Failing verdicts are never kept: each try asks REST and alerts as before.

// verdictNeutral are the events that change no channel's type or members.
// A new direct or group channel is born with its members and holds no
// verdict yet.
var verdictNeutral = map[model.WebsocketEventType]bool{
	model.WebsocketEventDirectAdded:            true,
	model.WebsocketEventGroupAdded:             true,
	model.WebsocketEventPosted:                 true,
	model.WebsocketEventPostEdited:             true,
	model.WebsocketEventPostDeleted:            true,
	model.WebsocketEventTyping:                 true,
	model.WebsocketEventReactionAdded:          true,
	model.WebsocketEventReactionRemoved:        true,
	model.WebsocketEventStatusChange:           true,
	model.WebsocketEventMultipleChannelsViewed: true,
	model.WebsocketEventThreadUpdated:          true,
	model.WebsocketEventThreadReadChanged:      true,
	model.WebsocketEventEphemeralMessage:       true,
	// A barrier (barrier.go) makes these two, each time.
	model.WebsocketEventPreferencesChanged:     true,
	model.WebsocketEventSidebarCategoryUpdated: true,
}

type verdictKey struct {
	channel   string
	sensitive bool
}

type verdict struct {
	gen uint64
	c   *connection
	ch  *model.Channel
}

// verdicts are the passing verdicts that still hold.
type verdicts struct {
	mu  sync.Mutex
	gen uint64 // bumped by whatever may change a verdict; stamps every verdict
	up  bool   // a websocket session is live (said hello)
	m   map[verdictKey]verdict
}

// stamp is taken before a REST check; store keeps its verdict only if
// nothing happened since.
func (v *verdicts) stamp() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.gen
}

func (v *verdicts) store(k verdictKey, stamp uint64, c *connection, ch *model.Channel) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.up || stamp != v.gen {
		return
	}
	if v.m == nil {
		v.m = map[verdictKey]verdict{}
	}
	v.m[k] = verdict{gen: stamp, c: c, ch: ch}
}

// lookup returns the kept verdict's channel, or nil.
func (v *verdicts) lookup(k verdictKey, c *connection) *model.Channel {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.m[k]
	if !ok || !v.up || e.gen != v.gen || e.c != c {
		return nil
	}
	return e.ch
}

// drop forgets every verdict: an event that may change one, a missed
// event, or the websocket going up or down (up says which).
func (v *verdicts) drop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	clear(v.m)
}

func (v *verdicts) session(up bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	v.up = up
	clear(v.m)
}

// cachedVerdict returns a kept passing verdict for the channel, after a
// websocket barrier proves that every event published before since (a
// fences.mark) has been taken and none dropped it (see above), or nil:
// then the caller checks through REST.
func (a *Adapter) cachedVerdict(ctx context.Context, c *connection, k verdictKey, since uint64) *model.Channel {
	if a.verdicts.lookup(k, c) == nil {
		return nil
	}
	if !a.barrier(ctx, since) {
		return nil
	}
	return a.verdicts.lookup(k, c)
}

// liveSession is how barrier learns the websocket session is live.
type liveSession struct {
	done chan struct{} // closed when the session ends
}
