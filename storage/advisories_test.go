package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	_ "modernc.org/sqlite"
)

// TestAdvisoryDraftRoundTrip stores a draft through the service, reads it
// back whole, and checks that approvals and the schedule have their own
// columns while the draft column alone holds the confidential text.
func TestAdvisoryDraftRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	svc, clock := newService(t, db)
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "Heap overflow", Reporter: "r@example.net"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AdvisoryRecord(ctx, 1); bot.KindOf(err) != bot.KindNotFound {
		t.Fatalf("no draft yet: err = %v, want not found", err)
	}
	bob := actor(svc, "bob")
	edit := func(what string, fn func(*bot.Advisory) error) {
		t.Helper()
		if _, err := svc.EditAdvisory(ctx, bob, bot.Member, 1, what, fn); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	edit("set title", func(a *bot.Advisory) error { return a.Set("title", "Heap overflow in the SIP parser CANARY-TEXT") })
	edit("set description", func(a *bot.Advisory) error { return a.Set("description", "A long header overflows a buffer.") })
	edit("affected", func(a *bot.Advisory) error {
		return a.AddAffected("libexample", bot.VersionRange{Branch: "1.4", Introduced: "1.4.0", Fixed: "1.4.3"})
	})
	edit("ref", func(a *bot.Advisory) error { return a.AddReference("patch", "https://git.example.org/commit/abc") })
	clock.Advance(time.Hour)
	out, err := svc.ApproveAdvisory(ctx, actor(svc, "alice"), bot.Member, 1, bot.ReviewText)
	if err != nil || len(out.Approved) != 1 {
		t.Fatalf("approve: %v %v", out.Approved, err)
	}
	at := t0.Add(48 * time.Hour)
	if _, err := svc.ScheduleAdvisory(ctx, bob, bot.Member, 1, at); err != nil {
		t.Fatal(err)
	}

	rec, err := db.AdvisoryRecord(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := rec.Draft
	if d.Title != "Heap overflow in the SIP parser CANARY-TEXT" || len(d.Affected) != 1 || d.Affected[0].Ranges[0].Fixed != "1.4.3" ||
		len(d.References) != 1 || len(d.Editors) != 1 || d.Editors[0] != "bob" {
		t.Fatalf("stored draft = %+v", d)
	}
	if len(d.Approvals) != 1 || d.Approvals[0].By != "alice" || !d.Approvals[0].Officer || !d.Approvals[0].At.Equal(t0.Add(time.Hour)) {
		t.Fatalf("approvals = %+v", d.Approvals)
	}
	if !rec.PublishAt.Equal(at) || rec.ScheduledBy != "bob" {
		t.Fatalf("schedule = %v by %q", rec.PublishAt, rec.ScheduledBy)
	}

	// Only the draft column holds the text (the column the seal covers);
	// the approvals column holds no draft text.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var draft, approvals string
	if err := raw.QueryRow(`SELECT draft, approvals FROM advisories WHERE incident_id = 1`).Scan(&draft, &approvals); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(draft, "CANARY-TEXT") || strings.Contains(approvals, "CANARY") || strings.Contains(draft, `"By":"alice"`) {
		t.Fatalf("columns: draft %q, approvals %q", draft, approvals)
	}

	// Scheduled but not due, then due.
	if ids, err := db.DueAdvisories(ctx, at.Add(-time.Minute)); err != nil || len(ids) != 0 {
		t.Fatalf("due before time = %v, %v", ids, err)
	}
	if ids, err := db.DueAdvisories(ctx, at); err != nil || len(ids) != 1 || ids[0] != 1 {
		t.Fatalf("due at time = %v, %v", ids, err)
	}
	if list, err := db.PublishedAdvisories(ctx); err != nil || len(list) != 0 {
		t.Fatalf("published before publication = %v, %v", list, err)
	}
	if err := db.MarkAnnounced(ctx, 1, "announce@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkAnnounced(ctx, 1, "announce@example.org"); err != nil {
		t.Fatal(err)
	}
	if rec, _ := db.AdvisoryRecord(ctx, 1); len(rec.Announced) != 1 || !rec.HasAnnounced("announce@example.org") {
		t.Fatalf("announced = %v", rec.Announced)
	}
}

// TestAdvisoryUpdateRollsBack checks that a refused change writes neither
// the draft nor the incident nor an event.
func TestAdvisoryUpdateRollsBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	svc, _ := newService(t, db)
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x"}); err != nil {
		t.Fatal(err)
	}
	before, _ := db.Events(ctx, 1)
	boom := errors.New("boom")
	_, _, err := db.UpdateAdvisory(ctx, 1, func(inc *bot.Incident, rec *bot.AdvisoryRecord) (bot.Change, error) {
		rec.Draft.Title, rec.Stored, inc.Title = "changed", true, "changed"
		return bot.Change{Events: []bot.Event{{Kind: "note", At: t0}}}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := db.AdvisoryRecord(ctx, 1); bot.KindOf(err) != bot.KindNotFound {
		t.Fatalf("draft stored despite the failure: %v", err)
	}
	inc, _ := db.Incident(ctx, 1)
	after, _ := db.Events(ctx, 1)
	if inc.Title != "x" || len(after) != len(before) {
		t.Fatalf("incident %q, events %d → %d", inc.Title, len(before), len(after))
	}
	if _, _, err := db.UpdateAdvisory(ctx, 42, func(*bot.Incident, *bot.AdvisoryRecord) (bot.Change, error) { return bot.Change{}, nil }); bot.KindOf(err) != bot.KindNotFound {
		t.Fatalf("missing incident: %v", err)
	}
}
