package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/intaketest"
)

func quarantineMail(key, from, subject string) []byte {
	return intaketest.Mail(key, from, subject, "CANARY-QUARANTINE")
}

func run(t *testing.T, w *world, who, line string) string {
	t.Helper()
	r := w.reg.Run(context.Background(), actorOf(w, who), line, true)
	if r.Failed {
		t.Fatalf("%s as %s: %s", line, who, bot.RenderPlain(r.Text))
	}
	return bot.RenderPlain(r.Text)
}

// TestQuarantineDesk walks an entry through the desk: listed newest first
// with reason, size, sender and age; shown with headers and never its
// content; released while its key is missing (rejected again, the same
// entry), released once the key is there (an incident); another dropped,
// refused a second decision, and deleted with its stored copy once the
// retention period has passed.
func TestQuarantineDesk(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	in := w.intake
	var ids []int64
	for _, subj := range []string{"first", "second"} {
		res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: quarantineMail("NEWKEY", "rita@example.net", subj)})
		if err != nil || res.QuarantineID == 0 {
			t.Fatalf("receive %s: %+v %v", subj, res, err)
		}
		ids = append(ids, res.QuarantineID)
		w.clock.Advance(90 * time.Minute)
	}
	list := run(t, w, "alice", "quarantine")
	if i, j := strings.Index(list, "Q-2 "), strings.Index(list, "Q-1 "); i < 0 || j < 0 || i > j {
		t.Fatalf("list is not newest first:\n%s", list)
	}
	for _, want := range []string{"wrong-key", "rita@example.net", "3h ago", "1h30m ago", " B "} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	if same := run(t, w, "alice", "quarantine list"); same != list {
		t.Errorf("quarantine list differs from quarantine:\n%s\n%s", same, list)
	}
	show := run(t, w, "alice", "quarantine show Q-1")
	for _, want := range []string{"Q-1", "wrong-key", "Message-ID: <first@example.net>", "Subject: first"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, "CANARY-QUARANTINE") {
		t.Errorf("show printed the content of a quarantined message:\n%s", show)
	}
	// The Q-n people are handed is pointed to the desk by show.
	if r := w.reg.Run(ctx, actorOf(w, "alice"), "show Q-1", true); !r.Failed || !strings.Contains(bot.RenderPlain(r.Text), "quarantine show Q-1") {
		t.Errorf("show Q-1: %s", bot.RenderPlain(r.Text))
	}

	// The key is still missing: rejected again, still Q-1.
	if got := run(t, w, "alice", "quarantine release Q-1"); !strings.Contains(got, "rejected again (wrong-key)") {
		t.Fatalf("release without the key: %s", got)
	}
	w.gate.AddKey("NEWKEY")
	if got := run(t, w, "alice", "quarantine release q-1"); !strings.Contains(got, "became SEC-4") {
		t.Fatalf("release with the key: %s", got)
	}
	inc, events, err := w.svc.Timeline(ctx, bot.SystemActor(), 4)
	if err != nil || inc.Title != "first" || !strings.Contains(events[0].Details, "released from quarantine Q-1 (wrong-key) by alice") {
		t.Fatalf("SEC-4: %+v %+v %v", inc, events, err)
	}
	if body, err := in.ReportBody(ctx, 4); err != nil || !strings.Contains(bot.RenderPlain(body), "CANARY-QUARANTINE body of first") {
		t.Fatalf("SEC-4's report: %v", err)
	}
	if got := run(t, w, "alice", "quarantine"); !strings.Contains(got, "released by alice, became SEC-4") {
		t.Errorf("list after release:\n%s", got)
	}
	// The same message delivered again is the incident, not a new entry.
	again, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: quarantineMail("NEWKEY", "rita@example.net", "first")})
	if err != nil || again.IncidentID != 4 {
		t.Fatalf("re-delivery after release: %+v %v", again, err)
	}

	// Drop Q-2; no second decision on either.
	if r := w.reg.Run(ctx, actorOf(w, "alice"), "quarantine drop Q-2", true); !r.Failed {
		t.Error("drop without a reason was accepted")
	}
	run(t, w, "carol", "quarantine drop Q-2 spam from a scanner")
	for _, line := range []string{"quarantine drop Q-1 late", "quarantine release Q-2", "quarantine drop Q-2 twice", "quarantine release Q-1"} {
		if r := w.reg.Run(ctx, actorOf(w, "alice"), line, true); !r.Failed || r.Kind != bot.KindConflict {
			t.Errorf("%s: want a conflict, got %s", line, bot.RenderPlain(r.Text))
		}
	}
	if got := run(t, w, "alice", "quarantine show Q-2"); !strings.Contains(got, "Dropped by carol on 2026-11-23: spam from a scanner") {
		t.Errorf("show of a dropped entry:\n%s", got)
	}

	// Retention: kept for 7 days after the drop, then gone with its copy.
	report := w.quarantined(t, 2).ReportID
	w.clock.Advance(7*24*time.Hour - time.Minute)
	if err := w.desk.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	run(t, w, "alice", "quarantine show Q-2")
	w.clock.Advance(2 * time.Minute)
	if err := w.desk.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if r := w.reg.Run(ctx, actorOf(w, "alice"), "quarantine show Q-2", true); !r.Failed || r.Kind != bot.KindNotFound {
		t.Errorf("Q-2 after the retention period: %s", bot.RenderPlain(r.Text))
	}
	if _, err := w.db.KeptReport(ctx, report); bot.KindOf(err) != bot.KindNotFound {
		t.Errorf("the stored copy of Q-2 outlived its entry: %v", err)
	}
	// A released entry's report is its incident's: never purged.
	if _, err := w.db.KeptReport(ctx, inc.ReportID); err != nil {
		t.Errorf("SEC-4's report: %v", err)
	}
}

// TestQuarantinePrivacy: outside private channels the desk names no
// sender and shows no header.
func TestQuarantinePrivacy(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := w.intake.Receive(ctx, bot.Submission{Source: bot.SourceWeb, Raw: quarantineMail("X", "rita@example.net", "s")}); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"quarantine", "quarantine show Q-1"} {
		r := w.reg.Run(ctx, actorOf(w, "alice"), line, false)
		if got := bot.RenderPlain(r.Text); r.Failed || strings.Contains(got, "rita@") || strings.Contains(got, "Message-ID") {
			t.Errorf("%s in a public channel:\n%s", line, got)
		}
	}
}

func (w *world) quarantined(t *testing.T, id int64) *bot.Quarantined {
	t.Helper()
	q, err := w.db.QuarantineEntry(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestQuarantinePermissions runs every subcommand of the desk as every
// role: only officers pass, and a refusal changes nothing.
func TestQuarantinePermissions(t *testing.T) {
	ctx := context.Background()
	for _, line := range []string{"quarantine", "quarantine list", "quarantine show Q-1", "quarantine release Q-1", "quarantine drop Q-1 noise"} {
		for _, role := range roles {
			w := newWorld(t)
			if _, err := w.intake.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: quarantineMail("X", "rita@example.net", "s")}); err != nil {
				t.Fatal(err)
			}
			before := *w.quarantined(t, 1)
			r := w.reg.Run(ctx, actorOf(w, cast[role]), line, true)
			forbidden := r.Failed && r.Kind == bot.KindForbidden
			if want := role != officer; forbidden != want {
				t.Errorf("%s as %s: forbidden=%v, want %v: %s", line, role, forbidden, want, bot.RenderPlain(r.Text))
			}
			if after := *w.quarantined(t, 1); forbidden && after != before {
				t.Errorf("%s as %s: refused, but the entry changed: %+v", line, role, after)
			}
			if !forbidden && r.Failed {
				t.Errorf("%s as %s failed: %s", line, role, bot.RenderPlain(r.Text))
			}
		}
	}
}
