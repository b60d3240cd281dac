package bot

import (
	"context"
	"fmt"
	"strings"
)

func requireOpen(inc *Incident) error {
	if !inc.State.Open() {
		return Errorf(KindConflict, "%s is closed (%s).", inc.Name(), inc.CloseReason)
	}
	return nil
}

// Claim makes the actor the incident's assignee and acknowledges it.
// Two claims at once serialise in the store: the second is told who won.
func (s *Service) Claim(ctx context.Context, a Actor, rule Rule, id int64) (Outcome, error) {
	if err := requirePerson(a, "claim an incident"); err != nil {
		return Outcome{}, err
	}
	me := a.Person.Name
	return s.update(ctx, a, rule, "claim it", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if err := requireOpen(inc); err != nil {
			return false, err
		}
		if inc.Claimed && strings.EqualFold(inc.Assignee, me) {
			return false, nil
		}
		if inc.Claimed {
			return false, Errorf(KindConflict, "%s is already claimed by %s. Ask them to unclaim it, or an officer or the SIG lead to assign it.", inc.Name(), inc.Assignee)
		}
		previous := inc.Assignee
		inc.Assignee, inc.Claimed = me, true
		ch.Events = append(ch.Events, s.event(a, EventClaimed, "claimed by "+me))
		if inc.State == StateNew {
			s.acknowledge(a, inc, ch)
		}
		var t Text
		t.Plain(fmt.Sprintf("%s: %s claimed it (%s).", inc.Name(), me, inc.State))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		if previous != "" && !strings.EqualFold(previous, me) {
			var p Text
			p.Mention(previous).Plain(fmt.Sprintf(" %s claimed %s, which was assigned to you by the rotation; you are off the hook for it.", me, inc.Name()))
			ch.Outbox = append(ch.Outbox, s.pings(st, inc, previous, MessagePing, "", p)...)
		}
		return true, nil
	})
}

// acknowledge moves a new incident to triage on the actor's behalf.
func (s *Service) acknowledge(a Actor, inc *Incident, ch *Change) {
	inc.State = StateTriage
	inc.AckedBy = a.Name()
	inc.AckedAt = s.clock.Now()
	ch.Events = append(ch.Events, s.event(a, EventState, "new → triage"))
}

// Unclaim releases the incident back to the SIG's on-duty contact.
func (s *Service) Unclaim(ctx context.Context, a Actor, rule Rule, id int64) (Outcome, error) {
	if err := requirePerson(a, "unclaim an incident"); err != nil {
		return Outcome{}, err
	}
	return s.update(ctx, a, rule, "unclaim it", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if err := requireOpen(inc); err != nil {
			return false, err
		}
		if !inc.Claimed {
			return false, Errorf(KindConflict, "%s is not claimed by anyone.", inc.Name())
		}
		previous := inc.Assignee
		onDuty, _ := s.onDuty(ctx, st, inc.SIG, s.clock.Now())
		inc.Assignee, inc.Claimed = onDuty, false
		detail := fmt.Sprintf("released by %s", previous)
		if onDuty != "" {
			detail += "; back to the on-duty contact " + onDuty
		}
		ch.Events = append(ch.Events, s.event(a, EventUnclaimed, detail))
		var t Text
		t.Plain(fmt.Sprintf("%s: %s.", inc.Name(), detail))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		if onDuty != "" && !strings.EqualFold(onDuty, a.Person.Name) {
			var p Text
			p.Mention(onDuty).Plain(fmt.Sprintf(" %s was released by %s and is yours as the on-duty contact of SIG %s.", inc.Name(), previous, inc.SIG))
			ch.Outbox = append(ch.Outbox, s.pings(st, inc, onDuty, MessagePing, "", p)...)
		}
		return true, nil
	})
}

// Ack acknowledges a new incident without taking ownership.
func (s *Service) Ack(ctx context.Context, a Actor, rule Rule, id int64) (Outcome, error) {
	if err := requirePerson(a, "acknowledge an incident"); err != nil {
		return Outcome{}, err
	}
	return s.update(ctx, a, rule, "acknowledge it", id, s.ackIt(a))
}

func (s *Service) ackIt(a Actor) mutation {
	return func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if inc.State != StateNew {
			if inc.AckedBy != "" {
				return false, Errorf(KindConflict, "%s was already acknowledged by %s (it is %s).", inc.Name(), inc.AckedBy, inc.State)
			}
			return false, Errorf(KindConflict, "%s is %s; only new incidents need acknowledging.", inc.Name(), inc.State)
		}
		s.acknowledge(a, inc, ch)
		var t Text
		t.Plain(fmt.Sprintf("%s: acknowledged by %s (new → triage).", inc.Name(), a.Name()))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		return true, nil
	}
}

// Assign makes a person the assignee (the SIG lead or an officer: the
// commands pass LeadOrOfficer).
func (s *Service) Assign(ctx context.Context, a Actor, rule Rule, id int64, person string) (Outcome, error) {
	return s.update(ctx, a, rule, "assign it", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if err := requireOpen(inc); err != nil {
			return false, err
		}
		p := st.People.ByName(person)
		if p == nil {
			return false, Errorf(KindNotFound, "Nobody called %q is on the team; known people: %s.", person, strings.Join(st.People.Names(), ", "))
		}
		if inc.Claimed && inc.Assignee == p.Name {
			return false, nil
		}
		inc.Assignee, inc.Claimed = p.Name, true
		ch.Events = append(ch.Events, s.event(a, EventAssigned, "assigned to "+p.Name))
		var t Text
		t.Plain(fmt.Sprintf("%s: %s assigned it to %s.", inc.Name(), a.Name(), p.Name))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		if a.Person == nil || a.Person.Name != p.Name {
			var ping Text
			ping.Mention(p.Name).Plain(fmt.Sprintf(" %s assigned %s to you. ", a.Name(), inc.Name()))
			ping.Append(summaryLine(inc))
			for _, m := range s.pings(st, inc, p.Name, MessagePing, "", ping) {
				m.Confidential = true // the summary carries the title
				ch.Outbox = append(ch.Outbox, m)
			}
		}
		return true, nil
	})
}
