package mattermost

import (
	"encoding/json"
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
