package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// quietEnd returns t, or when the quiet hours that hold t end.
func quietEnd(q QuietHours, t time.Time, loc *time.Location) time.Time {
	if !q.Contains(t, loc) {
		return t
	}
	lt := t.In(loc)
	end := time.Date(lt.Year(), lt.Month(), lt.Day(), q.End/60, q.End%60, 0, 0, loc)
	if !end.After(t) {
		end = time.Date(lt.Year(), lt.Month(), lt.Day()+1, q.End/60, q.End%60, 0, 0, loc)
	}
	return end
}

// sortedByDue orders incidents most urgent first: earliest deadline, then
// those without one, each by id.
func sortedByDue(list []*Incident) []*Incident {
	out := append([]*Incident(nil), list...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Due.IsZero() != b.Due.IsZero() {
			return !a.Due.IsZero()
		}
		if !a.Due.Equal(b.Due) {
			return a.Due.Before(b.Due)
		}
		return a.ID < b.ID
	})
	return out
}

// dueLine describes an incident in one line without its title, so lists
// may go anywhere on the team: "SEC-4 triage, high, SIG core, bob: triage
// due 2026-11-28 09:00 UTC (in 2d)".
func dueLine(inc *Incident, now time.Time, loc *time.Location) string {
	s := fmt.Sprintf("%s %s, %s, SIG %s, %s: ", inc.Name(), inc.State, inc.Severity, inc.SIG, orNobody(inc.Assignee))
	switch {
	case inc.Due.IsZero():
		s += "no deadline runs"
	case inc.Overdue(now):
		s += fmt.Sprintf("OVERDUE: %s due %s (%s ago)", inc.DueKind, FormatTime(inc.Due, loc), ago(now, inc.Due))
	case inc.Due.Sub(now) < time.Minute:
		s += fmt.Sprintf("%s due %s (now)", inc.DueKind, FormatTime(inc.Due, loc))
	default:
		s += fmt.Sprintf("%s due %s (in %s)", inc.DueKind, FormatTime(inc.Due, loc), FormatDuration(inc.Due.Sub(now).Truncate(time.Minute)))
	}
	return s
}

// PlanDigest writes the daily digest for the triage channel: counts,
// overdue incidents, deadlines of the next day, embargoes of the next
// week, snoozes, who is on duty and waiting hand-overs. It names incidents
// but not their titles.
func PlanDigest(now time.Time, st *Settings, rs *RosterState, incidents []*Incident) Text {
	loc := st.location()
	var open []*Incident
	states := map[State]int{}
	for _, inc := range sortedByDue(incidents) {
		if inc.State.Open() {
			open = append(open, inc)
			states[inc.State]++
		}
	}
	var overdue, soon, embargo, snoozed []*Incident
	for _, inc := range open {
		switch {
		case inc.Overdue(now):
			overdue = append(overdue, inc)
		case !inc.Due.IsZero() && inc.Due.Sub(now) <= 24*time.Hour:
			soon = append(soon, inc)
		}
		if !inc.Embargo.IsZero() && inc.Embargo.After(now) && inc.Embargo.Sub(now) <= 7*24*time.Hour {
			embargo = append(embargo, inc)
		}
		if inc.SnoozedUntil.After(now) {
			snoozed = append(snoozed, inc)
		}
	}
	var t Text
	t.Plain("Digest for " + FormatTime(now, loc) + ": ")
	if len(open) == 0 {
		t.Plain("no open incidents.")
	} else {
		var parts []string
		for _, s := range States {
			if states[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", states[s], s))
			}
		}
		t.Plain(fmt.Sprintf("%d open (%s), %d overdue.", len(open), strings.Join(parts, ", "), len(overdue)))
	}
	section := func(title string, list []*Incident, line func(*Incident) string) {
		if len(list) == 0 {
			return
		}
		t.Line().Plain(title)
		for _, inc := range list {
			t.Line().Plain("  " + line(inc))
		}
	}
	due := func(inc *Incident) string { return dueLine(inc, now, loc) }
	section("Overdue:", overdue, due)
	section("Due within a day:", soon, due)
	section("Embargoes lifting within a week:", embargo, func(inc *Incident) string {
		return fmt.Sprintf("%s lifts %s (in %s)", inc.Name(), FormatTime(inc.Embargo, loc), FormatDuration(inc.Embargo.Sub(now).Truncate(time.Minute)))
	})
	section("Snoozed:", snoozed, func(inc *Incident) string {
		return fmt.Sprintf("%s until %s", inc.Name(), FormatTime(inc.SnoozedUntil, loc))
	})
	var duty []string
	for _, name := range st.SIGNames() {
		duty = append(duty, name+" "+orNobody(OnDutyAt(st, rs, name, now).Person))
	}
	t.Line().Plain(fmt.Sprintf("On duty: %s; incident manager %s.", strings.Join(duty, ", "), orNobody(OnDutyAt(st, rs, Officers, now).Person)))
	if rs != nil {
		for _, h := range rs.Handovers {
			if h.Pending() {
				t.Line().Plain(fmt.Sprintf("Waiting hand-over: SIG %s from %s to %s, asked %s.", h.SIG, orNobody(h.From), h.To, FormatTime(h.Requested, loc)))
			}
		}
	}
	return t
}

// Digest posts the digest to the triage channel of every platform. The
// scheduler runs it (the digest schedule).
func (d *Duty) Digest(ctx context.Context) error {
	now, st := d.svc.clock.Now(), d.svc.Settings()
	incidents, err := d.store.ListIncidents(ctx, IncidentFilter{OpenOnly: true})
	if err != nil {
		return fmt.Errorf("digest: reading incidents: %w", err)
	}
	rs, err := d.store.RosterState(ctx, now)
	if err != nil {
		return fmt.Errorf("digest: reading the roster: %w", err)
	}
	text := PlanDigest(now, st, rs, incidents)
	var msgs []OutboxMessage
	for _, p := range st.Platforms {
		msgs = append(msgs, OutboxMessage{Dest: Destination{Platform: p, Channel: ChannelTriage}, Kind: MessageDigest,
			Text: text, DedupeKey: fmt.Sprintf("digest|%s|%s", runKey(now), p), Created: now, NextAttempt: now})
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := d.store.Enqueue(ctx, msgs); err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	d.svc.wake()
	return nil
}

// runKey names a scheduled run for dedupe keys: a run repeated within the
// same hour (a restart) sends nothing twice.
func runKey(now time.Time) string { return now.UTC().Format("2006-01-02T15") }
