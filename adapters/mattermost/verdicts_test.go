package mattermost

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// TestVerdictKeptOnlyWhileTheWebsocketVouches: a channel's passing
// verdict is reused (no REST call) until any event that may change a
// channel comes, a sequence number is skipped, or the websocket
// reconnects; events about posts and typing keep it.
func TestVerdictKeptOnlyWhileTheWebsocketVouches(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	waitHello(t, w.a)
	c, err := w.a.current()
	if err != nil {
		t.Fatal(err)
	}
	// A channel sectriage does not watch: only this test checks it, so
	// every fetch counted is one of its checks.
	ch := w.f.addChannel("verdict-test", model.ChannelTypePrivate, w.f.botID, w.alice, w.bob)
	verify := func() int {
		t.Helper()
		before := w.f.channelGets(ch)
		if _, err := w.a.verifyChannel(ctxT(t), c, ch, true); err != nil {
			t.Fatalf("verify: %v", err)
		}
		return w.f.channelGets(ch) - before
	}
	warm := func() {
		t.Helper()
		verify()
		if n := verify(); n != 0 {
			t.Fatalf("a verdict just made was not reused: %d fetches", n)
		}
	}
	channelJSON, _ := json.Marshal(&model.Channel{Id: ch, Name: "verdict-test", Type: model.ChannelTypePrivate})
	event := func(typ model.WebsocketEventType, channel string, data map[string]any) func() {
		return func() {
			ev := model.NewWebSocketEvent(typ, "", channel, "", nil, "")
			for k, v := range data {
				ev.Add(k, v)
			}
			w.f.send(ev)
		}
	}
	for _, tc := range []struct {
		name string
		do   func()
		kept bool
	}{
		{"typing", event(model.WebsocketEventTyping, ch, map[string]any{"user_id": w.alice}), true},
		{"posted", event(model.WebsocketEventPosted, ch, map[string]any{"post": `{"id":"x"}`}), true},
		{"preferences_changed", event(model.WebsocketEventPreferencesChanged, "", map[string]any{"preferences": "[]"}), true},
		{"sidebar_category_updated", event(model.WebsocketEventSidebarCategoryUpdated, "", nil), true},
		{"channel_converted", event(model.WebsocketEventChannelConverted, "", map[string]any{"channel_id": ch}), false},
		{"channel_updated", event(model.WebsocketEventChannelUpdated, ch, map[string]any{"channel": string(channelJSON)}), false},
		{"user_added", event(model.WebsocketEventUserAdded, ch, map[string]any{"user_id": w.alice, "team_id": "t"}), false},
		{"user_removed", event(model.WebsocketEventUserRemoved, ch, map[string]any{"user_id": w.bob, "remover_id": w.alice}), false},
		{"channel_deleted", event(model.WebsocketEventChannelDeleted, "", map[string]any{"channel_id": ch}), false},
		{"user_updated", event(model.WebsocketEventUserUpdated, "", map[string]any{"user": map[string]any{"id": w.bob}}), false},
		{"an event of another channel", event(model.WebsocketEventUserAdded, w.triage, map[string]any{"user_id": w.alice}), false},
		{"an unknown event", event("some_future_event", "", nil), false},
		{"a skipped sequence number", func() {
			w.f.skipSequence()
			event(model.WebsocketEventTyping, ch, map[string]any{"user_id": w.alice})()
		}, false},
		{"a reconnect", func() {
			drain(w.a.hello)
			w.f.dropWebSockets()
			w.f.waitWebSocket(t)
			waitHello(t, w.a)
			if c, err = w.a.current(); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		warm()
		tc.do()
		n := verify()
		if tc.kept && n != 0 {
			t.Errorf("%s: the verdict was dropped (%d fetches)", tc.name, n)
		}
		if !tc.kept && n != 1 {
			t.Errorf("%s: %d fetches, want the channel checked again", tc.name, n)
		}
	}
	// Without a websocket nothing is kept: every check asks REST.
	w.a.verdicts.session(false)
	if n := verify() + verify(); n != 2 {
		t.Errorf("without a live websocket: %d fetches for two checks, want 2", n)
	}
}

// TestVerdictBarrierWaitsForQueuedEvents: an event the server queued
// before a check began, but wrote only later (a busy hub; the
// websocket's own replies overtake it), still ends the kept verdict the
// check would have used: the barrier's event comes behind it. Checks that
// arrive while a barrier is in flight share the next one.
func TestVerdictBarrierWaitsForQueuedEvents(t *testing.T) {
	// Short: the last case waits the whole timeout for a lost barrier.
	w := newFakeWorld(t, func(o *Options) { o.RequestTimeout = time.Second })
	w.ready(t)
	waitHello(t, w.a)
	c, err := w.a.current()
	if err != nil {
		t.Fatal(err)
	}
	ch := w.f.addChannel("barrier-test", model.ChannelTypePrivate, w.f.botID, w.alice, w.bob)
	verify := func() error {
		_, err := w.a.verifyChannel(ctxT(t), c, ch, true)
		return err
	}
	warm := func() {
		t.Helper()
		if err := verify(); err != nil {
			t.Fatal(err)
		}
		if w.a.verdicts.lookup(verdictKey{channel: ch, sensitive: true}, c) == nil {
			t.Fatal("no verdict kept")
		}
		drainPrefs(w.f)
	}

	warm()
	w.f.hold()
	ev := model.NewWebSocketEvent(model.WebsocketEventUserAdded, "", ch, "", nil, "")
	ev.Add("user_id", w.alice)
	w.f.send(ev) // queued: not on the wire yet
	before := w.f.channelGets(ch)
	const checks = 8
	var wg sync.WaitGroup
	errs := make(chan error, checks)
	for range checks {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- verify() }()
	}
	// The first barrier is saved; the other checks gather behind it.
	select {
	case <-w.f.prefs:
	case <-time.After(5 * time.Second):
		t.Fatal("no barrier was saved")
	}
	for deadline := time.Now().Add(5 * time.Second); w.a.fences.joined() < checks; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d checks joined a barrier", w.a.fences.joined(), checks)
		}
	}
	w.f.release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.f.channelGets(ch) - before; n < 1 {
		t.Fatal("the kept verdict was used though user_added was queued before the checks")
	}
	if n := 1 + drainPrefs(w.f); n > 2 {
		t.Errorf("%d concurrent checks saved %d barriers, want at most 2", checks, n)
	}

	// A barrier that never comes back ends in the request timeout; the
	// check then asks REST.
	warm()
	w.f.hold()
	defer w.f.release()
	before = w.f.channelGets(ch)
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	if n := w.f.channelGets(ch) - before; n != 1 {
		t.Errorf("after a lost barrier: %d fetches, want the channel checked again", n)
	}
}

// joined counts the checks waiting on the barrier in flight and the next.
func (fs *fences) joined() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := 0
	for _, f := range []*fence{fs.flying, fs.next} {
		if f != nil {
			n += f.waiters
		}
	}
	return n
}

func drainPrefs(f *fake) int {
	for n := 0; ; n++ {
		select {
		case <-f.prefs:
		default:
			return n
		}
	}
}

func waitHello(t *testing.T, a *Adapter) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !a.Connected() {
		select {
		case <-a.hello:
		case <-deadline:
			t.Fatal("no websocket hello")
		}
	}
}
