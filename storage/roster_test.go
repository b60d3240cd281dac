package storage_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

func TestRosterChangesRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	cover := &bot.Override{Kind: bot.OverrideCover, SIG: "core", Person: "erin", From: t0, Until: t0.Add(48 * time.Hour), Created: t0, By: "bob"}
	away := &bot.Override{Kind: bot.OverrideAway, Person: "bob", From: t0, Until: t0.Add(24 * time.Hour), Created: t0, By: "bob"}
	old := &bot.Override{Kind: bot.OverrideAway, Person: "erin", From: t0.Add(-72 * time.Hour), Until: t0.Add(-48 * time.Hour), Created: t0, By: "erin"}
	h := &bot.Handover{SIG: "core", From: "bob", To: "erin", ConfigLead: "bob", Requested: t0, By: "bob"}
	err := db.ChangeRoster(ctx, t0, func(rs *bot.RosterState) (bot.RosterChange, error) {
		if len(rs.Overrides) != 0 {
			t.Errorf("fresh roster has overrides: %+v", rs.Overrides)
		}
		return bot.RosterChange{Add: []*bot.Override{cover, away, old}, Handovers: []*bot.Handover{h},
			Events: []bot.RosterEvent{{At: t0, Actor: "bob", Platform: "cli", Kind: "cover", SIG: "core", Person: "erin", Details: "x"}},
			Outbox: []bot.OutboxMessage{{Dest: bot.Destination{Platform: "irc", Channel: bot.ChannelTriage}, Kind: bot.MessageNotice,
				Text: bot.PlainText("roster"), Created: t0, NextAttempt: t0}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cover.ID == 0 || h.ID == 0 {
		t.Fatal("ids not set")
	}
	rs, err := db.RosterState(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Overrides) != 2 || rs.Overrides[0].Person != "erin" || !rs.Overrides[1].Until.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("overrides since t0 = %+v (the one that ended before must be left out)", rs.Overrides)
	}
	if p := rs.PendingHandover("core"); p == nil || p.To != "erin" {
		t.Fatalf("pending hand-over = %+v", p)
	}
	// A second pending hand-over for the same SIG is refused by the schema.
	err = db.ChangeRoster(ctx, t0, func(*bot.RosterState) (bot.RosterChange, error) {
		return bot.RosterChange{Handovers: []*bot.Handover{{SIG: "core", From: "bob", To: "dave", ConfigLead: "bob", Requested: t0, By: "x"}}}, nil
	})
	if err == nil {
		t.Fatal("two pending hand-overs for one SIG were stored")
	}
	// Accept it and end bob's absence early.
	err = db.ChangeRoster(ctx, t0, func(rs *bot.RosterState) (bot.RosterChange, error) {
		acc := *rs.Handovers[0]
		acc.Accepted = t0.Add(time.Hour)
		return bot.RosterChange{Handovers: []*bot.Handover{&acc}, End: map[int64]time.Time{away.ID: t0.Add(time.Hour)}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rs, _ = db.RosterState(ctx, t0)
	if got := rs.Lead(&bot.SIG{Name: "core", Lead: "bob"}); got != "erin" {
		t.Fatalf("lead after acceptance = %s", got)
	}
	if rs.Away("bob", t0.Add(2*time.Hour)) != nil {
		t.Fatal("bob still away after ending the absence")
	}
	hist, err := db.RosterHistory(ctx, "web", 10)
	if err != nil || len(hist) != 0 {
		t.Fatalf("web history = %+v, %v", hist, err)
	}
	hist, _ = db.RosterHistory(ctx, "core", 10)
	if len(hist) != 1 || hist[0].Person != "erin" {
		t.Fatalf("core history = %+v", hist)
	}
	if err := db.ExecForTest(ctx, `DELETE FROM roster_events`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("roster history deletable: %v", err)
	}
}

func TestRecordNagsOnce(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	svc, _ := newService(t, db)
	inc, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	key := bot.NagKey{Subject: inc.ID, Topic: "acknowledge", Period: t0.UnixMilli(), Person: "bob"}
	rec := bot.NagRecord{Key: key, Step: bot.StepAssignee, IncidentID: inc.ID, At: t0,
		Events: []bot.Event{{IncidentID: inc.ID, At: t0, Actor: "sectriage", Platform: "system", Kind: bot.EventNagged, Details: "d"}},
		Outbox: []bot.OutboxMessage{{Dest: bot.Destination{Platform: "console", Person: "bob"}, Kind: bot.MessagePing,
			Text: bot.PlainText("nag"), Created: t0, NextAttempt: t0}}}
	before, _ := db.OutboxStats(ctx)
	for i, want := range []int{1, 0} {
		n, err := db.RecordNags(ctx, []bot.NagRecord{rec})
		if err != nil || n != want {
			t.Fatalf("round %d: recorded %d, %v; want %d", i, n, err, want)
		}
	}
	after, _ := db.OutboxStats(ctx)
	if after.Pending != before.Pending+1 {
		t.Fatalf("outbox grew by %d, want 1", after.Pending-before.Pending)
	}
	events, _ := db.Events(ctx, inc.ID)
	if last := events[len(events)-1]; last.Kind != bot.EventNagged || len(events) != 3 {
		t.Fatalf("events = %+v", events)
	}
	h, err := db.NagHistory(ctx, bot.NagQuery{Since: t0})
	if err != nil || !h.Has(key) {
		t.Fatalf("history %v, %v", h, err)
	}
	if h, _ := db.NagHistory(ctx, bot.NagQuery{Since: t0.Add(time.Millisecond)}); h.Has(key) {
		t.Fatal("history since later still has the old period")
	}
}

// TestSweepSurvivesRestart runs the escalation on real SQLite: one ping per
// person and period, and a restarted process (new service, same file)
// does not ping again.
func TestSweepSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	svc, clock := newService(t, db)
	duty := bot.NewDuty(svc, db, discard())
	svc.SetRoster(duty)
	inc, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(49 * time.Hour)
	rep, err := duty.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pinged != 1 || rep.Incidents != 1 {
		t.Fatalf("first sweep: %+v", rep)
	}
	if rep, _ := duty.Sweep(ctx); rep.Pinged != 0 {
		t.Fatalf("second sweep pinged again: %+v", rep)
	}
	db.Close()

	db2, err := openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	svc2 := bot.NewService(db2, clock, discard(), testSettings(t))
	duty2 := bot.NewDuty(svc2, db2, discard())
	if rep, _ := duty2.Sweep(ctx); rep.Pinged != 0 {
		t.Fatalf("sweep after restart pinged again: %+v", rep)
	}
	clock.Advance(24 * time.Hour) // next period: bob again, and the officers (alice) now
	rep, err = duty2.Sweep(ctx)
	if err != nil || rep.Pinged != 2 {
		t.Fatalf("next period: %+v, %v", rep, err)
	}
	events, _ := db2.Events(ctx, inc.ID)
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, " "); got != "created assigned nagged nagged escalated" {
		t.Fatalf("timeline: %s", got)
	}
}

func TestSweepIncidentsSelectsOnlyActionable(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	svc, clock := newService(t, db)
	for _, title := range []string{"one", "two", "three"} {
		if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: title}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
	}
	if _, err := svc.Claim(ctx, actor(svc, "erin"), bot.Member, 3); err != nil {
		t.Fatal(err)
	}
	got := func(q bot.SweepQuery) []int64 {
		list, err := db.SweepIncidents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, inc := range list {
			ids = append(ids, inc.ID)
		}
		return ids
	}
	// Every change makes the incident due for the next sweep: 1 and 2 at
	// t0 and t0+1h, 3 at its claim (t0+3h).
	if ids := got(bot.SweepQuery{Due: t0.Add(90 * time.Minute)}); !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("due = %v, want [1 2]", ids)
	}
	if ids := got(bot.SweepQuery{Due: t0.Add(3 * time.Hour), Limit: 2}); !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("due, first page = %v, want [1 2]", ids)
	}
	one, err := db.Incident(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	two, err := db.Incident(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if ids := got(bot.SweepQuery{Due: t0.Add(3 * time.Hour), AfterAt: two.SweepAt, AfterID: 2}); !slices.Equal(ids, []int64{3}) {
		t.Fatalf("due, second page = %v, want [3]", ids)
	}
	// A mark moves 1 past the sweep; 2 changed after the sweep read it, so
	// its mark does not apply.
	stale := two.Clone()
	stale.Assignee = "someone else"
	if err := db.MarkSwept(ctx, []bot.SweepMark{{Seen: one, At: t0.Add(48 * time.Hour)}, {Seen: stale, At: t0.Add(48 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if ids := got(bot.SweepQuery{Due: t0.Add(3 * time.Hour)}); !slices.Equal(ids, []int64{2, 3}) {
		t.Fatalf("due after marking = %v, want [2 3]", ids)
	}
	if ids := got(bot.SweepQuery{Due: t0.Add(48 * time.Hour)}); !slices.Equal(ids, []int64{2, 3, 1}) {
		t.Fatalf("due later = %v, want [2 3 1] (by time)", ids)
	}
	if ids := got(bot.SweepQuery{People: []string{"erin"}}); len(ids) != 1 || ids[0] != 3 {
		t.Fatalf("held by erin = %v", ids)
	}
	if ids := got(bot.SweepQuery{SIGs: []string{one.SIG}, AfterID: 1}); !slices.Equal(ids, []int64{2, 3}) {
		t.Fatalf("of SIG %s after 1 = %v, want [2 3]", one.SIG, ids)
	}
	if ids := got(bot.SweepQuery{All: true, Limit: 2}); !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("all, first page = %v", ids)
	}
	if ids := got(bot.SweepQuery{}); len(ids) != 0 {
		t.Fatalf("empty query = %v", ids)
	}
}
