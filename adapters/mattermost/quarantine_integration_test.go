package mattermost

import (
	"context"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/intaketest"
)

// TestQuarantineDeskBySlashCommand runs the whole quarantine desk through
// the real server's /sec: an officer lists, shows (headers and reason,
// never the content), releases (rejected again while the key is missing,
// an incident once it is added) and drops; a member is refused every
// subcommand and changes nothing.
func TestQuarantineDeskBySlashCommand(t *testing.T) {
	w := newWorld(t, worldOptions{})
	ctx := context.Background()
	for i, m := range [][]byte{
		intaketest.Mail("NEXT", "rita@example.net", "rce", "CANARY-MMQ"),
		intaketest.Mail("OTHER", "scanner@example.com", "spam", "CANARY-MMQ"),
	} {
		res, err := w.c.intake.Receive(ctx, bot.Submission{Source: bot.SourceWeb, Raw: m})
		if err != nil || res.QuarantineID != int64(i+1) || res.Reason != bot.RejectWrongKey {
			t.Fatalf("receive %d: %+v %v", i+1, res, err)
		}
		w.c.waitDelivered(t, bot.MessageQuarantine, nil)
	}
	// The notices went to the triage channel without the content.
	for _, p := range w.botPosts(t, w.triage.Id) {
		if strings.Contains(p.Message, "CANARY") {
			t.Fatalf("a quarantine notice shows the content: %q", p.Message)
		}
	}

	sec := func(user, line string) *model.CommandResponse {
		t.Helper()
		resp, _, err := w.client(t, user).ExecuteCommand(ctxT(t), w.triage.Id, "/sec "+line)
		if err != nil {
			t.Fatalf("%s: /sec %s: %v", user, line, err)
		}
		if strings.Contains(resp.Text, "CANARY") {
			t.Fatalf("%s: /sec %s shows the content: %q", user, line, resp.Text)
		}
		return resp
	}
	// What shows senders and headers reaches only the officer who asked.
	ephemeral := func(user, line string, want ...string) string {
		t.Helper()
		resp := sec(user, line)
		if resp.ResponseType != model.CommandResponseTypeEphemeral {
			t.Errorf("%s: /sec %s answered %q", user, line, resp.ResponseType)
		}
		for _, s := range want {
			if !strings.Contains(resp.Text, s) {
				t.Fatalf("%s: /sec %s lacks %q: %q", user, line, s, resp.Text)
			}
		}
		return resp.Text
	}

	list := ephemeral("alice", "quarantine", "Q-1", "Q-2", "wrong-key", "rita@example.net", "scanner@example.com")
	if strings.Index(list, "Q-2") > strings.Index(list, "Q-1") {
		t.Errorf("list is not newest first: %q", list)
	}
	ephemeral("alice", "quarantine show Q-1", "Reason: wrong-key", "encrypted to NEXT",
		"Message-ID: <rce@example.net>", "Subject: rce", "The content is never shown")

	// A member is refused everything and changes nothing.
	for _, line := range []string{"quarantine", "quarantine show Q-1", "quarantine release Q-1", "quarantine drop Q-2 not for us"} {
		ephemeral("bob", line, "Only a security officer")
	}
	for id := int64(1); id <= 2; id++ {
		if q, err := w.c.db.QuarantineEntry(ctx, id); err != nil || !q.ReleasedAt.IsZero() || !q.DroppedAt.IsZero() {
			t.Fatalf("after bob: Q-%d %+v %v", id, q, err)
		}
	}

	// Released while the key is missing: rejected again, still quarantined.
	if resp := sec("alice", "quarantine release Q-1"); !strings.Contains(resp.Text, "Released Q-1, but it was rejected again (wrong-key)") {
		t.Fatalf("release without the key: %q", resp.Text)
	}
	if q, err := w.c.db.QuarantineEntry(ctx, 1); err != nil || !q.ReleasedAt.IsZero() || q.IncidentID != 0 {
		t.Fatalf("Q-1 after a failed release: %+v %v", q, err)
	}
	if _, err := w.c.db.Incident(ctx, 1); err == nil {
		t.Fatal("a failed release opened an incident")
	}

	// The operator adds the key: the same release now opens SEC-1, and the
	// new incident is posted to the real server.
	w.c.gate.AddKey("NEXT")
	if resp := sec("alice", "quarantine release Q-1"); !strings.Contains(resp.Text, "Released Q-1: it became SEC-1") {
		t.Fatalf("release with the key: %q", resp.Text)
	}
	if inc := w.c.incident(t, 1); inc.Title != "rce" || inc.Reporter != "rita@example.net" {
		t.Fatalf("SEC-1: %+v", inc)
	}
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	if q, err := w.c.db.QuarantineEntry(ctx, 1); err != nil || q.ReleasedAt.IsZero() || q.IncidentID != 1 {
		t.Fatalf("Q-1 after the release: %+v %v", q, err)
	}

	if resp := sec("alice", "quarantine drop Q-2 scanner noise"); !strings.Contains(resp.Text, "Dropped Q-2") {
		t.Fatalf("drop: %q", resp.Text)
	}
	if q, err := w.c.db.QuarantineEntry(ctx, 2); err != nil || q.DroppedAt.IsZero() || q.DroppedBy != "alice" || q.DropReason != "scanner noise" {
		t.Fatalf("Q-2 after the drop: %+v %v", q, err)
	}
	ephemeral("alice", "quarantine", "released by alice, became SEC-1", "dropped by alice", "scanner noise")
}
