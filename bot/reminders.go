package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Nag topics of personal reminders.
const (
	TopicReminder      = "reminder"       // one person reminded in a round
	TopicReminderRound = "reminder-round" // a round began (the reminders schedule fired)
	StepReminder       = NagStep("reminder")
)

// reminderRoundLife is how long a reminder round waits for people whose
// quiet hours held theirs back; a later round supersedes it anyway.
const reminderRoundLife = 24 * time.Hour

// Reminder is one person's list of open incidents.
type Reminder struct {
	Person   string
	Assigned []*Incident // open, not snoozed, most urgent first
	Managed  []*Incident // overdue incidents they manage but are not assigned
}

// PlanReminders decides the personal reminders at now: everyone with an
// open, unsnoozed incident assigned to them, or an overdue one they manage.
func PlanReminders(now time.Time, st *Settings, incidents []*Incident) map[string]*Reminder {
	out := map[string]*Reminder{}
	get := func(name string) *Reminder {
		p := st.People.ByName(name)
		if p == nil {
			return nil
		}
		if out[p.Name] == nil {
			out[p.Name] = &Reminder{Person: p.Name}
		}
		return out[p.Name]
	}
	for _, inc := range sortedByDue(incidents) {
		if !inc.State.Open() || inc.SnoozedUntil.After(now) {
			continue
		}
		if r := get(inc.Assignee); r != nil {
			r.Assigned = append(r.Assigned, inc)
		}
		if inc.Overdue(now) && !strings.EqualFold(inc.Manager, inc.Assignee) {
			if r := get(inc.Manager); r != nil {
				r.Managed = append(r.Managed, inc)
			}
		}
	}
	return out
}

// Text is the reminder as the person reads it.
func (r *Reminder) Text(now time.Time, loc *time.Location) Text {
	var t Text
	t.Mention(r.Person)
	if n := len(r.Assigned); n > 0 {
		t.Plain(fmt.Sprintf(" your open incidents (%d), most urgent first:", n))
		for _, inc := range r.Assigned {
			t.Line().Plain("  " + dueLine(inc, now, loc))
		}
		if len(r.Managed) > 0 {
			t.Line().Plain("Overdue incidents you manage:")
		}
	} else {
		t.Plain(" overdue incidents you manage:")
	}
	for _, inc := range r.Managed {
		t.Line().Plain("  " + dueLine(inc, now, loc))
	}
	return t
}

// Reminders begins a reminder round (the reminders schedule fired) and
// reminds everyone outside their quiet hours at once. People in quiet
// hours are reminded by a later sweep once those end, with the list as it
// is then, not as it was when the round began. It returns how many people
// got a reminder.
func (d *Duty) Reminders(ctx context.Context) (int, error) {
	now := d.svc.clock.Now()
	round := NagRecord{Key: NagKey{Topic: TopicReminderRound, Period: now.UnixMilli()}, Step: StepReminder, At: now}
	if _, err := d.store.RecordNags(ctx, []NagRecord{round}); err != nil {
		return 0, fmt.Errorf("reminders: %w", err)
	}
	return d.remind(ctx, now, now)
}

// remindHeld finishes the latest reminder round for people whose quiet
// hours have ended since it began.
func (d *Duty) remindHeld(ctx context.Context, now time.Time) (int, error) {
	round, err := d.store.LatestPeriod(ctx, TopicReminderRound)
	if err != nil || round.IsZero() || now.Sub(round) > reminderRoundLife {
		return 0, err
	}
	return d.remind(ctx, now, round)
}

// planReminders is PlanReminders for the given people, reading the open
// incidents a page at a time: it runs inside sweeps (for people whose
// quiet hours held their reminder back), so its memory must not grow with
// the number of open incidents, only with what the reminders list.
func (d *Duty) planReminders(ctx context.Context, now time.Time, st *Settings, people []*Person) (map[string]*Reminder, error) {
	plan := make(map[string]*Reminder, len(people))
	for _, p := range people {
		plan[p.Name] = &Reminder{Person: p.Name}
	}
	q := SweepQuery{All: true, Limit: sweepPage}
	for {
		page, err := d.store.SweepIncidents(ctx, q)
		if err != nil {
			return nil, err
		}
		for name, r := range PlanReminders(now, st, page) {
			if acc := plan[name]; acc != nil {
				acc.Assigned = append(acc.Assigned, r.Assigned...)
				acc.Managed = append(acc.Managed, r.Managed...)
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	for name, r := range plan {
		if len(r.Assigned) == 0 && len(r.Managed) == 0 {
			delete(plan, name) // nothing to remind them of
			continue
		}
		r.Assigned, r.Managed = sortedByDue(r.Assigned), sortedByDue(r.Managed)
	}
	return plan, nil
}

// remind reminds each person not yet reminded in the round that began at
// round and not in their quiet hours. Everyone handled is recorded, with
// or without a message, so the round is done with them.
func (d *Duty) remind(ctx context.Context, now, round time.Time) (int, error) {
	st := d.svc.Settings()
	history, err := d.store.NagHistory(ctx, NagQuery{Since: round, Topic: TopicReminder})
	if err != nil {
		return 0, fmt.Errorf("reminders: reading sent nags: %w", err)
	}
	var due []*Person
	for _, p := range st.People.All() {
		k := NagKey{Topic: TopicReminder, Period: round.UnixMilli(), Person: p.Name}
		if !history.Has(k) && !p.QuietHours.Contains(now, p.Location) {
			due = append(due, p)
		}
	}
	if len(due) == 0 {
		return 0, nil
	}
	plan, err := d.planReminders(ctx, now, st, due)
	if err != nil {
		return 0, fmt.Errorf("reminders: reading incidents: %w", err)
	}
	records, sent := make([]NagRecord, 0, len(due)), 0
	for _, p := range due {
		rec := NagRecord{Key: NagKey{Topic: TopicReminder, Period: round.UnixMilli(), Person: p.Name}, Step: StepReminder, At: now}
		if r := plan[p.Name]; r != nil {
			rec.Outbox = nagMessages(st, p, 0, MessagePing, r.Text(now, p.Location), false)
			stampMessages(rec.Outbox, now)
			if len(rec.Outbox) > 0 {
				sent++
			}
		}
		records = append(records, rec)
	}
	if _, err := d.store.RecordNags(ctx, records); err != nil {
		return 0, fmt.Errorf("reminders: %w", err)
	}
	if sent > 0 {
		d.svc.wake()
	}
	return sent, nil
}
