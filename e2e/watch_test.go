package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// mmPost is a post a user's websocket saw created.
type mmPost struct {
	*model.Post
	ChannelType string // "P" private, "D" direct, "O" open
	Mentions    string // JSON list of user ids the server notified, "" when none
}

// mmWatch records every post one user's websocket is told about, and,
// when the user is added to a channel, the posts it held already, which
// a client shows on joining (an incident's post goes in before its people
// are added). Unlike mmserver.WebSocket it never drops events, so waits
// in any order work.
type mmWatch struct {
	posts  *feed[mmPost]
	ws     *model.WebSocketClient
	client *model.Client4
	userID string
	seen   map[string]bool // post ids recorded, read by drain only
	hello  chan struct{}   // closed when the server's hello has arrived
}

// watchMattermost opens user's websocket and returns once the server has
// registered it (its hello): events before that are not sent to it, and
// the post the test makes happen next would be missed on a slow machine.
// t's cleanup closes it.
func (w *world) watchMattermost(t testing.TB, user string) *mmWatch {
	t.Helper()
	c := w.mm.UserClient(t, user)
	ws, err := model.NewWebSocketClient4(w.mm.WebsocketURL(), c.AuthToken)
	if err != nil {
		t.Fatalf("websocket for %s: %v", user, err)
	}
	me, _, err := c.GetMe(context.Background(), "")
	if err != nil {
		t.Fatalf("websocket for %s: %v", user, err)
	}
	m := &mmWatch{posts: newFeed[mmPost](), ws: ws, client: c, userID: me.Id, seen: map[string]bool{}, hello: make(chan struct{})}
	ws.Listen()
	go m.drain()
	t.Cleanup(ws.Close)
	select {
	case <-m.hello:
	case <-time.After(wait):
		t.Fatalf("websocket for %s: no hello within %v", user, wait)
	}
	return m
}

// drain reads every channel of the client: model.WebSocketClient blocks
// unless all three are read.
func (m *mmWatch) drain() {
	defer m.posts.close()
	helloSeen := false
	for {
		select {
		case ev, ok := <-m.ws.EventChannel:
			if !ok {
				return
			}
			if ev.EventType() == model.WebsocketEventHello && !helloSeen {
				helloSeen = true
				close(m.hello)
			}
			data := ev.GetData()
			switch ev.EventType() {
			case model.WebsocketEventUserAdded:
				if uid, _ := data["user_id"].(string); uid == m.userID {
					m.joined(ev.GetBroadcast().ChannelId)
				}
			case model.WebsocketEventPosted:
				raw, _ := data["post"].(string)
				var p model.Post
				if json.Unmarshal([]byte(raw), &p) != nil {
					continue
				}
				typ, _ := data["channel_type"].(string)
				mentions, _ := data["mentions"].(string)
				m.record(mmPost{Post: &p, ChannelType: typ, Mentions: mentions})
			}
		case <-m.ws.ResponseChannel:
		case <-m.ws.PingTimeoutChannel:
		}
	}
}

// record adds p, once.
func (m *mmWatch) record(p mmPost) {
	if !m.seen[p.Id] {
		m.seen[p.Id] = true
		m.posts.add(p)
	}
}

// joined records the posts a channel the user was just added to holds,
// oldest first, as a client loads them on joining. Which users the server
// notified of them is not known then (Mentions "").
func (m *mmWatch) joined(channelID string) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ch, _, err := m.client.GetChannel(ctx, channelID)
	if err != nil {
		return
	}
	list, _, err := m.client.GetPostsForChannel(ctx, channelID, 0, 200, "", false, false)
	if err != nil {
		return
	}
	for i := len(list.Order) - 1; i >= 0; i-- {
		m.record(mmPost{Post: list.Posts[list.Order[i]], ChannelType: string(ch.Type)})
	}
}

// waitPost returns the first post that matches, failing the test after
// timeout.
func (m *mmWatch) waitPost(t testing.TB, timeout time.Duration, what string, match func(mmPost) bool) mmPost {
	t.Helper()
	p, ok := m.posts.wait(timeout, match)
	if !ok {
		var seen []string
		for _, p := range m.posts.all() {
			seen = append(seen, p.ChannelType+": "+p.Message)
		}
		t.Fatalf("Mattermost: no post of %s within %v; posts seen:\n%s", what, timeout, strings.Join(seen, "\n---\n"))
	}
	return p
}

// byBot matches the bot's posts in a channel of type typ ("" for any)
// whose text contains every one of parts.
func (w *world) byBot(typ string, parts ...string) func(mmPost) bool {
	return func(p mmPost) bool {
		if p.UserId != w.mmBotID || (typ != "" && p.ChannelType != typ) {
			return false
		}
		for _, s := range parts {
			if !strings.Contains(p.Message, s) {
				return false
			}
		}
		return true
	}
}

// slash runs a slash command as user in the triage channel, as typing it
// would: Mattermost calls the daemon's listener and shows its answer.
func (w *world) slash(t testing.TB, user, command string) *model.CommandResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, _, err := w.mm.UserClient(t, user).ExecuteCommand(ctx, w.mmTriage.Id, command)
	if err != nil {
		t.Fatalf("%s as %s: %v", command, user, err)
	}
	return resp
}

// fromBot matches lines the bot sent with this command to target whose
// text contains every one of parts.
func fromBot(command, target string, parts ...string) func(ircnet.Line) bool {
	return func(l ircnet.Line) bool {
		if l.Nick() != "sectriage" || l.Command != command || l.Param(0) != target {
			return false
		}
		for _, s := range parts {
			if !strings.Contains(l.Param(1), s) {
				return false
			}
		}
		return true
	}
}

// serverTime is when the IRC server relayed a line (the server-time tag),
// or when the client read it.
func serverTime(l ircnet.Line) time.Time {
	if v, ok := l.Tag("time"); ok {
		if at, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return at
		}
	}
	return l.At
}
