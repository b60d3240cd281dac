package mattermost

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
)

// TestServerDownLosesNothing stops the real server while messages are
// queued: the outbox keeps them and delivers them once it is back, and the
// websocket reconnects by itself.
func TestServerDownLosesNothing(t *testing.T) {
	s := mmserver.Start(t) // its own server: this test stops it
	w := newWorld(t, worldOptions{server: s})
	before := w.c.open(t, "Before the outage")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)

	drain(w.a.hello)
	s.StopMattermost(t)
	during := w.c.open(t, "During the outage")
	bob := bot.Actor{Person: w.c.svc.Settings().People.ByName("bob"), Platform: bot.PlatformCLI}
	if _, err := w.c.svc.Ack(context.Background(), bob, bot.Member, before.ID); err != nil {
		t.Fatal(err)
	}
	// The outbox keeps each platform's messages in order, so only the
	// first one waiting is tried while the server is down.
	failed := w.c.waitAttempt(t, "a failed attempt while down", func(a attempt) bool { return a.err != nil })
	if !transient(failed.err) {
		t.Fatalf("while down: %v, want a retryable error", failed.err)
	}

	s.StartMattermost(t)
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	w.c.waitDelivered(t, bot.MessageNotice, nil)
	var announced, acked bool
	for _, p := range w.botPosts(t, w.triage.Id) {
		announced = announced || strings.Contains(p.Message, during.Name())
		acked = acked || strings.Contains(p.Message, "acknowledged by bob")
	}
	if !announced || !acked {
		t.Errorf("after the restart: announced=%v acked=%v", announced, acked)
	}
	// Every queued message went out, once.
	for _, person := range []string{"alice", "bob"} {
		w.c.waitDelivered(t, bot.MessagePing, isOfficer(person))
	}
	w.c.waitOutboxEmpty(t)
	seen := map[string]int{}
	for _, p := range w.botPosts(t, w.triage.Id) {
		seen[p.Message]++
		if seen[p.Message] > 1 {
			t.Errorf("posted twice: %q", p.Message)
		}
	}

	// The websocket came back: a direct message is a command again.
	select {
	case <-w.a.hello:
	case <-time.After(waitLong):
		t.Fatal("the websocket did not reconnect")
	}
	w.claimByDM(t, "bob", during)
}

func drain(c chan struct{}) {
	select {
	case <-c:
	default:
	}
}
