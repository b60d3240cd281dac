package mattermost

import (
	"context"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/intaketest"
)

// TestFakeQuarantineDesk runs the desk by slash command: an officer lists
// (with the sender, in the private triage channel) and releases, a member
// is refused, and the entry becomes an incident once its key is there.
func TestFakeQuarantineDesk(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	ctx := context.Background()
	res, err := w.c.intake.Receive(ctx, bot.Submission{Source: bot.SourceWeb, Raw: intaketest.Mail("NEXT", "rita@example.net", "rce", "CANARY-MM")})
	if err != nil || res.QuarantineID != 1 {
		t.Fatalf("receive: %+v %v", res, err)
	}
	w.c.waitDelivered(t, bot.MessageQuarantine, nil)
	const token = "Token slash-token-0123456789"
	_, resp := w.slash(t, w.slashForm(w.alice, "quarantine"), token)
	if resp == nil || !strings.Contains(resp.Text, "Q-1") || !strings.Contains(resp.Text, "wrong-key") || !strings.Contains(resp.Text, "rita@example.net") {
		t.Fatalf("alice's list: %+v", resp)
	}
	_, resp = w.slash(t, w.slashForm(w.alice, "quarantine show Q-1"), token)
	if resp == nil || !strings.Contains(resp.Text, "Message-ID: <rce@example.net>") || strings.Contains(resp.Text, "CANARY-MM") {
		t.Fatalf("alice's show: %+v", resp)
	}
	_, resp = w.slash(t, w.slashForm(w.bob, "quarantine release Q-1"), token)
	if resp == nil || resp.ResponseType != model.CommandResponseTypeEphemeral || !strings.Contains(resp.Text, "Only a security officer") {
		t.Fatalf("bob's release: %+v", resp)
	}
	w.c.gate.AddKey("NEXT")
	_, resp = w.slash(t, w.slashForm(w.alice, "quarantine release Q-1"), token)
	if resp == nil || !strings.Contains(resp.Text, "became SEC-1") {
		t.Fatalf("alice's release: %+v", resp)
	}
	if inc := w.c.incident(t, 1); inc.Title != "rce" {
		t.Fatalf("SEC-1: %+v", inc)
	}
}
