package mattermost

import (
	"context"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
)

// A barrier proves that the websocket has delivered every event the
// server published before the barrier began. A websocket "ping" does not:
// the server queues events on its hub's broadcast queue, served by the
// hub's goroutine, but writes a ping's reply straight to the connection,
// so the reply can overtake an event published just before it.
//
// So the barrier goes through that same queue: the bot saves one of its
// own preferences with a fresh nonce, and the server publishes
// preferences_changed for the bot (app.UpdatePreferences → Publish →
// the broadcast queue of the bot's hub, the one hub its connection is
// on). Channel events (user_added, user_removed, channel_updated,
// channel_converted, channel_deleted) are queued on every hub, bot's
// included, and the hub's goroutine writes its queue to each connection
// in order. Mattermost 11.4 publishes these synchronously, before the
// request that made the change is answered; so the event of a change
// whose request returned before the barrier began comes before the
// barrier's. Where the server changes members in the background (a
// group-synced channel pruned after its request returned, LDAP group
// sync), no client can know of the change before the event is published:
// a verdict is then exact as of that moment.
//
// One barrier is in flight at a time; checks arriving meanwhile gather
// on the next one, which starts when the one in flight ends: it began
// after all of them arrived, so it proves for all of them.
//
// A check may be proven as of an earlier point than its call: the
// answer to a slash command as of the request's arrival (slash.go). The
// handler takes a mark (fences.mark) when the request arrives and starts
// a barrier at once, beside the command; a check given that mark takes
// any barrier begun after it (one in flight, or the latest that came
// back), so the command and the barrier overlap. Every event published
// before the request arrived has then been read, and has dropped the
// verdict; a change made while the command ran is seen only if its
// event came before the answer was rendered. Marks count barriers, not
// time: "begun after" holds however coarse the clock.

// barrierCategory is the bot's own preference category the barriers
// write; only its value (the nonce) changes.
const barrierCategory = "sectriage_barrier"

type fences struct {
	mu     sync.Mutex
	begun  uint64 // barriers begun so far; each is numbered in that order
	last   *fence // the latest-begun barrier that came back
	flying *fence // its preference saved or being saved, its event not yet seen
	next   *fence // gathering checks for after flying; nil if none waits
}

type fence struct {
	seq     uint64       // its number in fences.begun, set when it begins
	s       *liveSession // the session it began in
	nonce   string
	done    chan struct{} // closed when ended; ok says how
	ok      bool
	waiters int // checks that joined it
}

// mark returns the point now in the order barriers begin: a barrier
// numbered above it began after mark returned.
func (fs *fences) mark() uint64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.begun
}

// end ends the fence (once) and frees the slot if it held it.
func (fs *fences) end(f *fence, ok bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.flying == f {
		fs.flying = nil
	}
	select {
	case <-f.done:
	default:
		f.ok = ok
		close(f.done)
		if ok && (fs.last == nil || f.seq > fs.last.seq) {
			fs.last = f
		}
	}
}

// seen ends the fence in flight if the websocket brought its nonce.
func (fs *fences) seen(nonce string) {
	fs.mu.Lock()
	f := fs.flying
	fs.mu.Unlock()
	if f != nil && f.nonce == nonce {
		fs.end(f, true)
	}
}

// barrier reports whether every event published before since (a mark)
// has been taken by the websocket session (and so has dropped any
// verdict it ends). A barrier of this session begun after since proves
// it: the latest that came back, the one in flight, or else the next.
// false: no live session, or no proof in time; the caller asks REST
// instead. The session's goroutine must not call it (it takes the event
// that ends the wait).
func (a *Adapter) barrier(ctx context.Context, since uint64) bool {
	s := a.live.Load()
	if s == nil {
		return false
	}
	bctx, cancel := a.call(ctx)
	defer cancel()
	fs := &a.fences
	fs.mu.Lock()
	if l := fs.last; l != nil && l.s == s && l.seq > since {
		fs.mu.Unlock()
		return true
	}
	if fl := fs.flying; fl != nil && fl.s == s && fl.seq > since {
		fl.waiters++
		fs.mu.Unlock()
		return awaitFence(bctx, s, fl)
	}
	if fs.next == nil {
		fs.next = &fence{done: make(chan struct{})}
	}
	f := fs.next
	f.waiters++
	fs.mu.Unlock()
	for {
		fs.mu.Lock()
		if fs.next != f { // another waiter has sent it
			fs.mu.Unlock()
			break
		}
		prev := fs.flying
		if prev == nil {
			fs.begun++
			f.seq, f.s = fs.begun, s
			fs.flying, fs.next = f, nil
			f.nonce = model.NewId()
			fs.mu.Unlock()
			return a.sendFence(bctx, s, f)
		}
		fs.mu.Unlock()
		select {
		case <-prev.done:
		case <-s.done:
			return false
		case <-bctx.Done():
			return false
		}
	}
	return awaitFence(bctx, s, f)
}

// awaitFence waits for a fence another check sends.
func awaitFence(ctx context.Context, s *liveSession, f *fence) bool {
	select {
	case <-f.done:
		return f.ok
	case <-s.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// sendFence saves the nonce and waits for its event. The sender always
// ends the fence, so that a lost event cannot stall the checks after it.
func (a *Adapter) sendFence(ctx context.Context, s *liveSession, f *fence) bool {
	c, err := a.current()
	if err != nil {
		a.fences.end(f, false)
		return false
	}
	pref := model.Preference{UserId: c.botID, Category: barrierCategory, Name: "nonce", Value: f.nonce}
	resp, err := a.client.UpdatePreferences(ctx, c.botID, model.Preferences{pref})
	if err := apiErr("saving the websocket barrier", resp, err); err != nil {
		a.log.Warn("websocket barrier failed; checking through REST", "err", err)
		a.fences.end(f, false)
		return false
	}
	select {
	case <-f.done:
	case <-s.done:
		a.fences.end(f, false)
	case <-ctx.Done():
		a.fences.end(f, false)
	}
	return f.ok
}

// onPreferences passes a barrier's nonce to its waiters. It runs on the
// session's goroutine, after every event before it was taken.
func (a *Adapter) onPreferences(c *connection, ev *model.WebSocketEvent) {
	var prefs model.Preferences
	if err := decodeJSONString(ev.GetData()["preferences"], &prefs); err != nil {
		return
	}
	for _, p := range prefs {
		if p.UserId == c.botID && p.Category == barrierCategory {
			a.fences.seen(p.Value)
		}
	}
}
