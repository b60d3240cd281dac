package mattermost

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
)

// TestSlashAnswerGoesFirst: a claim's answer is posted before the work it
// sets off reaches Mattermost (answers.go), and the real server's post of
// the answer, not the bound, is what lets that work go.
func TestSlashAnswerGoesFirst(t *testing.T) {
	w := newWorld(t, worldOptions{})
	// Bounds far above any real wait: reaching one fails the test.
	w.a.pending.mu.Lock()
	w.a.pending.answerMax, w.a.pending.yieldMax = 20*time.Second, time.Minute
	w.a.pending.mu.Unlock()
	inc := w.c.open(t, "Heap overflow in the SIP parser")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	alice := w.client(t, "alice")
	ws := w.s.WebSocket(t, alice.AuthToken)

	// Ephemeral: done when written, before Mattermost answers the user.
	if _, _, err := alice.ExecuteCommand(ctxT(t), w.triage.Id, "/sec help"); err != nil {
		t.Fatal(err)
	}
	if live, expired := w.a.pending.state(); live != 0 || expired != 0 {
		t.Fatalf("after help: %d answers in flight, %d expired", live, expired)
	}

	resp, _, err := alice.ExecuteCommand(ctxT(t), w.triage.Id, fmt.Sprintf("/sec claim %d", inc.ID))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ResponseType != model.CommandResponseTypeInChannel {
		t.Skipf("the answer came %s (%q): too slow a machine for this test", resp.ResponseType, resp.Text)
	}
	// The answer is posted, then the incident's post is edited.
	answered := mmserver.IsPosted(w.triage.Id, "You claimed "+inc.Name())
	ev := ws.WaitFor(t, waitLong, func(ev *model.WebSocketEvent) bool {
		return answered(ev) || ev.EventType() == model.WebsocketEventPostEdited && ev.GetBroadcast().ChannelId == w.triage.Id
	})
	if !answered(ev) {
		t.Fatalf("the incident's post was edited before the answer was posted: %s", mmserver.PostOf(t, ev).Message)
	}
	edit := ws.WaitFor(t, waitLong, func(ev *model.WebSocketEvent) bool {
		return ev.EventType() == model.WebsocketEventPostEdited && ev.GetBroadcast().ChannelId == w.triage.Id
	})
	if p := mmserver.PostOf(t, edit); !strings.Contains(p.Message, "Assignee: alice") {
		t.Errorf("edited post: %q", p.Message)
	}
	w.a.pending.yield(context.Background())
	if live, expired := w.a.pending.state(); live != 0 || expired != 0 {
		t.Fatalf("after the claim: %d answers in flight, %d ended by the bound, not by their post", live, expired)
	}
}
