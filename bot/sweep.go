package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// NagRecord is one nag as stored: its key, and the events and messages that
// go with it, written only if the key is new.
type NagRecord struct {
	Key        NagKey
	Step       NagStep
	IncidentID int64 // 0 for hand-overs
	At         time.Time
	Events     []Event
	Outbox     []OutboxMessage
}

// recordBatch is how many nags one write transaction records.
const recordBatch = 500

// sweepPage is how many incidents a sweep reads, plans and marks at a
// time: what bounds its memory however many incidents are open.
const sweepPage = 500

// SweepReport counts what a sweep did, for the log.
type SweepReport struct {
	Incidents  int // looked at
	Reassigned int
	Pinged     int  // nags recorded (each may be several messages)
	Held       int  // waiting for quiet hours to end
	All        bool // every open incident was read, not only those due
}

// Sweep runs one escalation sweep: it hands incidents to stand-ins and
// on-duty contacts, records and queues the nags PlanSweep decides, and
// sends reminders that quiet hours held back. The scheduler runs it every
// few minutes.
//
// It reads only the incidents it may have to act on: those whose SweepAt
// has come (a deadline, escalation step, embargo warning or snooze end
// fell due, quiet hours that held a nag ended, or the incident changed),
// and, when the roster changed since the last sweep, those the change
// concerns. The first sweep of a process, and the first after a settings
// reload or a change among the officers on duty or free, reads every open
// incident, a page at a time. Every incident it looks at gets its next SweepAt (NextAction), so
// it acts exactly as a sweep reading every open incident would.
func (d *Duty) Sweep(ctx context.Context) (SweepReport, error) {
	d.sweeping.Lock()
	defer d.sweeping.Unlock()
	now := d.svc.clock.Now()
	st := d.svc.Settings()
	rs, err := d.store.RosterState(ctx, now)
	if err != nil {
		return SweepReport{}, fmt.Errorf("sweep: reading the roster: %w", err)
	}
	view := viewRoster(st, rs, now)
	scope := view.changedSince(d.seen)
	p := newPlanner(now, st, rs)
	// Older periods can no longer be planned again.
	since := now.Add(-max(p.esc.Repeat, st.maxEmbargoWarning()))
	rep := SweepReport{All: scope.all}

	history, err := d.store.NagHistory(ctx, NagQuery{Since: since, Topic: TopicHandover})
	if err != nil {
		return rep, fmt.Errorf("sweep: reading sent nags: %w", err)
	}
	p.history = history
	p.handovers()
	plan := p.take()
	rep.Held += len(plan.Held)
	if err := d.record(ctx, st, now, plan.Nags, &rep); err != nil {
		return rep, err
	}

	if scope.all {
		err = d.sweepPages(ctx, p, since, SweepQuery{All: true}, nil, &rep)
	} else {
		// An incident both due and concerned by a roster change is looked
		// at once.
		seen := map[int64]bool{}
		err = d.sweepPages(ctx, p, since, SweepQuery{Due: now}, seen, &rep)
		if err == nil && (len(scope.sigs) > 0 || len(scope.people) > 0) {
			err = d.sweepPages(ctx, p, since, SweepQuery{SIGs: scope.sigs, People: scope.people}, seen, &rep)
		}
	}
	if err != nil {
		return rep, err
	}
	d.seen = view
	reminded, err := d.remindHeld(ctx, now)
	if err != nil {
		return rep, err
	}
	rep.Pinged += reminded
	if rep.Reassigned > 0 || rep.Pinged > 0 {
		d.svc.wake()
	}
	return rep, nil
}

// sweepPages runs the sweep over the incidents q selects, a page at a
// time. seen, if not nil, skips incidents looked at already.
func (d *Duty) sweepPages(ctx context.Context, p *planner, since time.Time, q SweepQuery, seen map[int64]bool, rep *SweepReport) error {
	q.Limit = sweepPage
	for {
		page, err := d.store.SweepIncidents(ctx, q)
		if err != nil {
			return fmt.Errorf("sweep: reading incidents: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		full := len(page) == q.Limit
		q.AfterAt, q.AfterID = page[len(page)-1].SweepAt, page[len(page)-1].ID
		if seen != nil {
			page = slices.DeleteFunc(page, func(inc *Incident) bool { return seen[inc.ID] })
			for _, inc := range page {
				seen[inc.ID] = true
			}
		}
		if err := d.sweepPage(ctx, p, since, page, rep); err != nil {
			return err
		}
		if !full {
			return nil
		}
	}
}

// sweepPage plans one page of incidents, carries the plan out, and moves
// each incident's SweepAt to when it next needs a look.
func (d *Duty) sweepPage(ctx context.Context, p *planner, since time.Time, page []*Incident, rep *SweepReport) error {
	if len(page) == 0 {
		return nil
	}
	ids := make([]int64, len(page))
	for i, inc := range page {
		ids[i] = inc.ID
	}
	history, err := d.store.NagHistory(ctx, NagQuery{Since: since, Subjects: ids})
	if err != nil {
		return fmt.Errorf("sweep: reading sent nags: %w", err)
	}
	p.history = history
	p.incidents(page)
	plan := p.take()
	rep.Incidents += len(page)
	rep.Held += len(plan.Held)
	failed := map[int64]bool{}
	for _, r := range plan.Reassign {
		changed, err := d.svc.reassign(ctx, r)
		if err != nil {
			// One incident failing must not stop the others; it stays
			// due, so the next sweep tries again.
			d.log.Error("handing an away person's incident to the stand-in failed", "incident", r.Incident.ID, "err", err)
			failed[r.Incident.ID] = true
			continue
		}
		if changed {
			rep.Reassigned++
		}
	}
	if err := d.record(ctx, p.st, p.now, plan.Nags, rep); err != nil {
		return err
	}
	// A held nag goes out at the first sweep after its person's quiet
	// hours end.
	quietUntil := map[int64]time.Time{}
	for _, n := range plan.Held {
		person := p.st.People.ByName(n.Person)
		if n.Incident == nil || person == nil {
			continue
		}
		end := quietEnd(person.QuietHours, p.now, person.Location)
		if t, ok := quietUntil[n.Incident.ID]; !ok || end.Before(t) {
			quietUntil[n.Incident.ID] = end
		}
	}
	marks := make([]SweepMark, 0, len(page))
	for _, inc := range page {
		if failed[inc.ID] {
			continue
		}
		at := p.nextAction(inc)
		if t, ok := quietUntil[inc.ID]; ok && (at.IsZero() || t.Before(at)) {
			at = t
		}
		if at.IsZero() != inc.SweepAt.IsZero() || at.UnixMilli() != inc.SweepAt.UnixMilli() {
			marks = append(marks, SweepMark{Seen: inc, At: at})
		}
	}
	if err := d.store.MarkSwept(ctx, marks); err != nil {
		return fmt.Errorf("sweep: marking incidents: %w", err)
	}
	return nil
}

// record renders and records nags.
func (d *Duty) record(ctx context.Context, st *Settings, now time.Time, nags []Nag, rep *SweepReport) error {
	records := renderNags(st, now, nags)
	for len(records) > 0 {
		// Batches keep each write transaction short, so that commands
		// (in this process or another) are not kept waiting for the lock
		// when a sweep has thousands of nags to send.
		batch := records[:min(len(records), recordBatch)]
		records = records[len(batch):]
		n, err := d.store.RecordNags(ctx, batch)
		if err != nil {
			return fmt.Errorf("sweep: recording nags: %w", err)
		}
		rep.Pinged += n
	}
	return nil
}

// renderNags turns planned nags into records: a ping per nag, and for each
// incident and step one timeline event and one notice in its channel,
// carried by the step's first record.
func renderNags(st *Settings, now time.Time, nags []Nag) []NagRecord {
	var out []NagRecord
	for i := 0; i < len(nags); {
		j := i + 1
		for j < len(nags) && sameGroup(nags[i], nags[j]) {
			j++
		}
		group := nags[i:j]
		for k, n := range group {
			rec := NagRecord{Key: n.Key, Step: n.Step, At: now, Outbox: pingNag(st, now, n)}
			if n.Incident != nil {
				rec.IncidentID = n.Incident.ID
			}
			if k == 0 && n.Incident != nil {
				ev, notice := groupNotice(st, now, group)
				ev.IncidentID = n.Incident.ID
				rec.Events = append(rec.Events, ev)
				rec.Outbox = append(rec.Outbox, notice...)
			}
			stampMessages(rec.Outbox, now)
			out = append(out, rec)
		}
		i = j
	}
	return out
}

func sameGroup(a, b Nag) bool {
	return a.Step == b.Step && a.Key.Subject == b.Key.Subject && a.Key.Topic == b.Key.Topic && a.Key.Period == b.Key.Period
}

// ago says how long ago t was, in minutes at least.
func ago(now, t time.Time) string {
	return FormatDuration(max(now.Sub(t), 0).Truncate(time.Minute))
}

// whatToDo suggests the commands that answer a nag about a deadline.
func whatToDo(inc *Incident, kind DeadlineKind) string {
	id := inc.ID
	switch kind {
	case DeadlineAcknowledge:
		return fmt.Sprintf("claim %d or ack %d", id, id)
	case DeadlineTriage:
		return fmt.Sprintf("confirm %d or reject %d", id, id)
	case DeadlineFix:
		return fmt.Sprintf("fixed %d once the fix is out, or ask an officer for a new date (due %d fix <date>)", id, id)
	case DeadlineStale:
		return fmt.Sprintf("post an update with note %d <text>", id)
	case DeadlineEmbargo:
		return fmt.Sprintf("the embargo has lifted: disclose %d", id)
	}
	return fmt.Sprintf("show %d", id)
}

func deadlinePassed(n Nag, now time.Time) string {
	return fmt.Sprintf("%s deadline passed %s ago", n.Kind, ago(now, n.Deadline))
}

// pingNag is the message to the nagged person, on each platform where they
// have an identity. It names the incident's title, so it is confidential.
func pingNag(st *Settings, now time.Time, n Nag) []OutboxMessage {
	p := st.People.ByName(n.Person)
	if p == nil {
		return nil
	}
	loc := p.Location
	var t Text
	t.Mention(p.Name)
	kind := MessageEscalation
	switch n.Step {
	case StepHandover:
		h := n.Handover
		if strings.EqualFold(p.Name, h.To) {
			t.Plain(fmt.Sprintf(" %s asked you on %s to take over as lead of SIG %s. Reply accept handover %s to take it.",
				h.From, FormatTime(h.Requested, loc), h.SIG, h.SIG))
		} else {
			t.Plain(fmt.Sprintf(" your hand-over of SIG %s to %s still waits for them to accept (asked %s); until then you remain its lead.",
				h.SIG, h.To, FormatTime(h.Requested, loc)))
		}
		return nagMessages(st, p, 0, MessagePing, t, false)
	case StepEmbargo:
		kind = MessagePing
		t.Plain(" ")
		t.Append(summaryLine(n.Incident))
		t.Plain(fmt.Sprintf(": the embargo lifts in %s (%s). Have the fix and the advisory ready.",
			FormatDuration(n.Deadline.Sub(now).Truncate(time.Minute)), FormatTime(n.Deadline, loc)))
	case StepAssignee:
		kind = MessagePing
		t.Plain(" ")
		t.Append(summaryLine(n.Incident))
		t.Plain(fmt.Sprintf(": the %s (%s). You are its assignee: %s. To mute this for a while: snooze %d <duration>.",
			deadlinePassed(n, now), FormatTime(n.Deadline, loc), whatToDo(n.Incident, n.Kind), n.Incident.ID))
	case StepDeputy:
		t.Plain(" escalation: ")
		t.Append(summaryLine(n.Incident))
		t.Plain(fmt.Sprintf(": the %s and %s (assignee) has not acted. As deputy of SIG %s, please take it over: claim %d, or assign %d <person>.",
			deadlinePassed(n, now), orNobody(n.Assignee), n.Incident.SIG, n.Incident.ID, n.Incident.ID))
	case StepOfficers:
		t.Plain(" escalation to the security officers: ")
		t.Append(summaryLine(n.Incident))
		with := "assignee " + orNobody(n.Assignee)
		if n.Deputy != "" {
			with += ", deputy " + n.Deputy
		}
		t.Plain(fmt.Sprintf(": the %s and nobody has acted (%s). Assign it (assign %d <person>) or set a new deadline (due %d <date>).",
			deadlinePassed(n, now), with, n.Incident.ID, n.Incident.ID))
	}
	return nagMessages(st, p, n.Incident.ID, kind, t, true)
}

func nagMessages(st *Settings, p *Person, incident int64, kind string, t Text, confidential bool) []OutboxMessage {
	var out []OutboxMessage
	for _, dest := range personDests(st, p) {
		out = append(out, OutboxMessage{Dest: dest, Kind: kind, IncidentID: incident, Text: t, Confidential: confidential})
	}
	return out
}

// groupNotice is the timeline event and the channel notice for one step of
// one incident: who was pinged and why. Notices carry no report content.
func groupNotice(st *Settings, now time.Time, group []Nag) (Event, []OutboxMessage) {
	n := group[0]
	names := make([]string, len(group))
	for i, g := range group {
		names[i] = g.Person
	}
	who := strings.Join(names, ", ")
	var detail, kind string
	msgKind := MessageNotice
	switch n.Step {
	case StepEmbargo:
		kind = EventNagged
		detail = fmt.Sprintf("embargo lifts in %s; reminded %s", FormatDuration(n.Deadline.Sub(now).Truncate(time.Minute)), who)
	case StepAssignee:
		kind = EventNagged
		detail = fmt.Sprintf("%s; reminded the assignee %s", deadlinePassed(n, now), who)
	case StepDeputy:
		kind, msgKind = EventEscalated, MessageEscalation
		detail = fmt.Sprintf("%s; escalated to the deputy of SIG %s: %s", deadlinePassed(n, now), n.Incident.SIG, who)
	default:
		kind, msgKind = EventEscalated, MessageEscalation
		detail = fmt.Sprintf("%s; escalated to the security officers: %s", deadlinePassed(n, now), who)
	}
	ev := Event{At: now, Actor: SystemActor().Name(), Platform: PlatformSystem, Kind: kind, Details: detail}
	var t Text
	t.Plain(fmt.Sprintf("%s: %s.", n.Incident.Name(), detail))
	var msgs []OutboxMessage
	for _, p := range st.Platforms {
		msgs = append(msgs, OutboxMessage{Dest: Destination{Platform: p, Channel: ChannelIncident},
			Kind: msgKind, IncidentID: n.Incident.ID, Text: t})
	}
	return ev, msgs
}
