package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sectriage/sectriage/bot"
)

// planText lists a plan one decision per line, for comparisons.
func planText(p bot.SweepPlan) []string {
	var out []string
	for _, r := range p.Reassign {
		role := "assignee"
		if r.Manager {
			role = "manager"
		}
		out = append(out, fmt.Sprintf("reassign SEC-%d %s %s→%s", r.Incident.ID, role, r.From, r.To))
	}
	for _, n := range p.Nags {
		out = append(out, fmt.Sprintf("ping %s %s #%d %s", n.Person, n.Step, n.Key.Subject, n.Key.Topic))
	}
	for _, n := range p.Held {
		out = append(out, fmt.Sprintf("held %s %s #%d", n.Person, n.Step, n.Key.Subject))
	}
	return out
}

func TestPlanSweep(t *testing.T) {
	st := rosterSettings(t)
	due := utc("2026-11-04 10:00") // a Wednesday: bob's week in core (Berlin 11:00)
	newInc := func(id int64, mod func(*bot.Incident)) *bot.Incident {
		inc := &bot.Incident{ID: id, SIG: "core", State: bot.StateNew, Severity: bot.SeverityHigh, Assignee: "bob", Manager: "alice",
			Due: due, DueKind: bot.DeadlineAcknowledge}
		if mod != nil {
			mod(inc)
		}
		return inc
	}
	key := func(id int64, period time.Time, person string) bot.NagKey {
		return bot.NagKey{Subject: id, Topic: "acknowledge", Period: period.UnixMilli(), Person: person}
	}
	for _, tc := range []struct {
		name    string
		now     string
		inc     *bot.Incident
		rs      *bot.RosterState
		history []bot.NagKey
		want    []string
	}{
		{name: "not yet due", now: "2026-11-04 10:00", inc: newInc(1, nil)},
		{name: "just overdue", now: "2026-11-04 10:05", inc: newInc(1, nil), want: []string{"ping bob assignee #1 acknowledge"}},
		{name: "already pinged this period", now: "2026-11-04 10:10", inc: newInc(1, nil), history: []bot.NagKey{key(1, due, "bob")}},
		{name: "deputy after 4h", now: "2026-11-04 14:00", inc: newInc(1, nil), history: []bot.NagKey{key(1, due, "bob")},
			want: []string{"ping dave deputy #1 acknowledge"}},
		{name: "officers after 12h, manager first", now: "2026-11-04 22:00", inc: newInc(1, func(i *bot.Incident) { i.Manager = "carol" }),
			history: []bot.NagKey{key(1, due, "bob"), key(1, due, "dave")},
			want:    []string{"ping carol officers #1 acknowledge", "ping alice officers #1 acknowledge"}},
		{name: "everyone again next period", now: "2026-11-05 10:00", inc: newInc(1, nil),
			history: []bot.NagKey{key(1, due, "bob"), key(1, due, "dave"), key(1, due, "alice"), key(1, due, "carol")},
			want:    []string{"ping bob assignee #1 acknowledge", "ping dave deputy #1 acknowledge", "ping alice officers #1 acknowledge", "ping carol officers #1 acknowledge"}},
		{name: "quiet hours hold a ping", now: "2026-11-04 22:30", inc: newInc(1, func(i *bot.Incident) { i.Due = utc("2026-11-04 22:00") }),
			want: []string{"held bob assignee #1"}},
		{name: "critical ignores quiet hours", now: "2026-11-04 22:30",
			inc:  newInc(1, func(i *bot.Incident) { i.Due, i.Severity = utc("2026-11-04 22:00"), bot.SeverityCritical }),
			want: []string{"ping bob assignee #1 acknowledge"}},
		{name: "snoozed", now: "2026-11-04 14:00", inc: newInc(1, func(i *bot.Incident) { i.SnoozedUntil = utc("2026-11-05 00:00") })},
		{name: "closed", now: "2026-11-04 14:00", inc: newInc(1, func(i *bot.Incident) { i.State = bot.StateClosed })},
		{name: "away assignee is replaced and the stand-in pinged", now: "2026-11-04 10:05", inc: newInc(1, nil),
			rs:   &bot.RosterState{Overrides: []*bot.Override{{Kind: bot.OverrideAway, Person: "bob", From: utc("2026-11-04 00:00"), Until: utc("2026-11-10 00:00")}}},
			want: []string{"reassign SEC-1 assignee bob→dave", "ping dave assignee #1 acknowledge"}},
		{name: "snoozed but away: still handed over", now: "2026-11-04 10:05",
			inc: newInc(1, func(i *bot.Incident) { i.SnoozedUntil = utc("2026-11-05 00:00") }),
			rs: &bot.RosterState{Overrides: []*bot.Override{
				{Kind: bot.OverrideAway, Person: "alice", From: utc("2026-11-04 00:00"), Until: utc("2026-11-10 00:00")}}},
			want: []string{"reassign SEC-1 manager alice→carol"}},
		{name: "unacknowledged and unclaimed: follows the on-duty", now: "2026-11-04 10:05",
			inc:  newInc(1, func(i *bot.Incident) { i.Assignee = "erin" }),
			want: []string{"reassign SEC-1 assignee erin→bob", "ping bob assignee #1 acknowledge"}},
		{name: "acknowledged: stays with its assignee", now: "2026-11-04 10:05",
			inc:  newInc(1, func(i *bot.Incident) { i.Assignee, i.State, i.DueKind = "erin", bot.StateTriage, bot.DeadlineTriage }),
			want: []string{"ping erin assignee #1 triage"}},
		{name: "deputy is the assignee: the next deputy", now: "2026-11-04 14:00", inc: newInc(1, func(i *bot.Incident) { i.Assignee, i.Claimed = "dave", true }),
			history: []bot.NagKey{key(1, due, "dave")}, want: []string{"ping erin deputy #1 acknowledge"}},
		{name: "embargo warning: only the latest threshold", now: "2026-11-04 12:00",
			inc: newInc(1, func(i *bot.Incident) {
				i.State, i.Due, i.Embargo = bot.StateFixing, utc("2026-12-01 00:00"), utc("2026-11-05 06:00")
			}),
			want: []string{"ping bob embargo #1 embargo-warning", "ping alice embargo #1 embargo-warning"}},
		{name: "no embargo warning once disclosed", now: "2026-11-04 12:00",
			inc: newInc(1, func(i *bot.Incident) {
				i.State, i.Due, i.Embargo = bot.StateDisclosed, time.Time{}, utc("2026-11-05 06:00")
			})},
		{name: "hand-over reminded once a day after the first", now: "2026-11-05 11:00", inc: newInc(1, func(i *bot.Incident) { i.Due = time.Time{} }),
			rs:   &bot.RosterState{Handovers: []*bot.Handover{{ID: 7, SIG: "core", From: "bob", To: "erin", Requested: utc("2026-11-04 10:00")}}},
			want: []string{"ping erin handover #7 handover", "ping bob handover #7 handover"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := bot.NagHistory{}
			for _, k := range tc.history {
				h[k] = struct{}{}
			}
			got := planText(bot.PlanSweep(utc(tc.now), st, tc.rs, []*bot.Incident{tc.inc}, h))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanSweepPeriodsAreStable(t *testing.T) {
	// The period key must not move as the sweep runs: pinging once, then
	// sweeping every 5 minutes for a day, yields nothing new until the
	// next period.
	st := rosterSettings(t)
	inc := &bot.Incident{ID: 3, SIG: "web", State: bot.StateTriage, Severity: bot.SeverityLow, Assignee: "dave", Manager: "carol",
		Due: utc("2026-11-04 10:00"), DueKind: bot.DeadlineTriage}
	h := bot.NagHistory{}
	var log []string
	for now := utc("2026-11-04 10:00"); now.Before(utc("2026-11-06 10:01")); now = now.Add(5 * time.Minute) {
		p := bot.PlanSweep(now, st, nil, []*bot.Incident{inc}, h)
		for _, n := range p.Nags {
			h[n.Key] = struct{}{}
			log = append(log, now.Format("Jan 2 15:04")+" "+n.Person)
		}
	}
	want := "Nov 4 10:05 dave|Nov 4 22:00 carol|Nov 4 22:00 alice|Nov 5 10:00 dave|Nov 5 10:00 carol|Nov 5 10:00 alice|" +
		"Nov 6 10:00 dave|Nov 6 10:00 carol|Nov 6 10:00 alice"
	if got := strings.Join(log, "|"); got != want {
		t.Errorf("pings:\n got %s\nwant %s", got, want)
	}
}
