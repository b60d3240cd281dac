package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// HandoverResult is what `handover` did.
type HandoverResult struct {
	Handover  *Handover // the new pending hand-over; nil when withdrawn
	Replaced  *Handover // a pending one it replaced
	Withdrawn bool      // handing over to the current lead withdrew the pending one
}

// Handover asks person to take over as the SIG's lead. Nothing changes
// until they accept; until then the sweep reminds both of them. Asking for
// the current lead withdraws a pending hand-over. The commands pass
// LeadOrOfficer.
func (d *Duty) Handover(ctx context.Context, a Actor, rule Rule, sig, name string) (HandoverResult, error) {
	if err := rule.Precheck(a, "hand over a SIG's lead"); err != nil {
		return HandoverResult{}, err
	}
	st, now := d.svc.Settings(), d.svc.clock.Now()
	teamName, g, err := team(st, sig)
	if err != nil {
		return HandoverResult{}, err
	}
	if g == nil {
		return HandoverResult{}, Errorf(KindInvalid, "The officers have no lead to hand over; change their rotation with cover.")
	}
	p, err := person(st, name)
	if err != nil {
		return HandoverResult{}, err
	}
	var res HandoverResult
	err = d.store.ChangeRoster(ctx, now, func(rs *RosterState) (RosterChange, error) {
		if err := rule.Check(a, teamScope(rs, teamName, g), "hand over the lead of SIG "+teamName); err != nil {
			return RosterChange{}, err
		}
		lead, pending := rs.Lead(g), rs.PendingHandover(g.Name)
		var ch RosterChange
		switch {
		case strings.EqualFold(lead, p.Name) && pending == nil:
			return RosterChange{}, Errorf(KindConflict, "%s already leads SIG %s.", p.Name, g.Name)
		case strings.EqualFold(lead, p.Name):
			c := *pending
			c.Cancelled = now
			res.Withdrawn, res.Replaced = true, &c
			ch.Handovers = append(ch.Handovers, &c)
			ch.Events = append(ch.Events, d.rosterEvent(a, "handover", g.Name, pending.To,
				fmt.Sprintf("hand-over of SIG %s to %s withdrawn; %s stays lead", g.Name, pending.To, lead)))
			var n, ping Text
			n.Plain(fmt.Sprintf("Roster: the hand-over of SIG %s to %s was withdrawn by %s; %s stays lead.", g.Name, pending.To, a.Name(), lead))
			ping.Mention(pending.To).Plain(fmt.Sprintf(" %s withdrew the hand-over of SIG %s to you; nothing to accept.", a.Name(), g.Name))
			ch.Outbox = append(rosterNotice(st, a, n), rosterPing(st, a, now, pending.To, ping)...)
		case pending != nil && strings.EqualFold(pending.To, p.Name):
			return RosterChange{}, Errorf(KindConflict, "The hand-over of SIG %s to %s already waits for them: they accept with accept handover %s.", g.Name, p.Name, g.Name)
		default:
			if pending != nil {
				c := *pending
				c.Cancelled = now
				res.Replaced = &c
				ch.Handovers = append(ch.Handovers, &c)
			}
			h := &Handover{SIG: g.Name, From: lead, To: p.Name, ConfigLead: g.Lead, Requested: now, By: a.Name()}
			res.Handover = h
			ch.Handovers = append(ch.Handovers, h)
			ch.Events = append(ch.Events, d.rosterEvent(a, "handover", g.Name, p.Name,
				fmt.Sprintf("%s asked to take over the lead of SIG %s from %s", p.Name, g.Name, orNobody(lead))))
			var n, toNew, toOld Text
			n.Plain(fmt.Sprintf("Roster: %s asked %s to take over the lead of SIG %s from %s; it takes effect when they accept.",
				a.Name(), p.Name, g.Name, orNobody(lead)))
			toNew.Mention(p.Name).Plain(fmt.Sprintf(" %s asks you to take over as lead of SIG %s from %s. Reply accept handover %s to take it.",
				a.Name(), g.Name, orNobody(lead), g.Name))
			toOld.Mention(lead).Plain(fmt.Sprintf(" the lead of SIG %s goes to %s once they accept (asked by %s); until then it stays with you.",
				g.Name, p.Name, a.Name()))
			ch.Outbox = rosterNotice(st, a, n)
			ch.Outbox = append(ch.Outbox, rosterPing(st, a, now, p.Name, toNew)...)
			ch.Outbox = append(ch.Outbox, rosterPing(st, a, now, lead, toOld)...)
		}
		stampMessages(ch.Outbox, now)
		return ch, nil
	})
	if err != nil {
		return HandoverResult{}, err
	}
	d.svc.wake()
	return res, nil
}

// AcceptHandover completes a hand-over to the actor; sig picks one when
// several wait. Only hand-overs to the actor are found, whatever rule
// allows (the commands pass Member).
func (d *Duty) AcceptHandover(ctx context.Context, a Actor, rule Rule, sig string) (*Handover, error) {
	if err := requirePerson(a, "accept a hand-over"); err != nil {
		return nil, err
	}
	if err := rule.Precheck(a, "accept a hand-over"); err != nil {
		return nil, err
	}
	st, now := d.svc.Settings(), d.svc.clock.Now()
	if sig != "" {
		name, g, err := team(st, sig)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, Errorf(KindInvalid, "The officers have no lead to hand over.")
		}
		sig = name
	}
	var accepted *Handover
	err := d.store.ChangeRoster(ctx, now, func(rs *RosterState) (RosterChange, error) {
		if err := rule.Check(a, Scope{Person: a.Person.Name}, "accept a hand-over"); err != nil {
			return RosterChange{}, err
		}
		var mine []*Handover
		for _, h := range rs.Handovers {
			if h.Pending() && strings.EqualFold(h.To, a.Person.Name) && (sig == "" || strings.EqualFold(h.SIG, sig)) {
				mine = append(mine, h)
			}
		}
		switch {
		case len(mine) == 0 && sig != "":
			return RosterChange{}, Errorf(KindNotFound, "No hand-over of SIG %s waits for you.", sig)
		case len(mine) == 0:
			return RosterChange{}, Errorf(KindNotFound, "No hand-over waits for you.")
		case len(mine) > 1:
			var sigs []string
			for _, h := range mine {
				sigs = append(sigs, h.SIG)
			}
			slices.Sort(sigs)
			return RosterChange{}, Errorf(KindInvalid, "Hand-overs of SIGs %s wait for you: accept handover <sig>.", strings.Join(sigs, ", "))
		}
		h := *mine[0]
		h.Accepted = now
		accepted = &h
		var n, ping Text
		n.Plain(fmt.Sprintf("Roster: %s accepted the hand-over and now leads SIG %s (was %s).", h.To, h.SIG, orNobody(h.From)))
		ping.Mention(h.From).Plain(fmt.Sprintf(" %s accepted: they lead SIG %s now.", h.To, h.SIG))
		ch := RosterChange{Handovers: []*Handover{&h},
			Events: []RosterEvent{d.rosterEvent(a, "accepted", h.SIG, h.To, fmt.Sprintf("%s leads SIG %s (was %s)", h.To, h.SIG, orNobody(h.From)))}}
		ch.Outbox = append(rosterNotice(st, a, n), rosterPing(st, a, now, h.From, ping)...)
		stampMessages(ch.Outbox, now)
		return ch, nil
	})
	if err != nil {
		return nil, err
	}
	d.svc.wake()
	return accepted, nil
}

// OnCallLine is one team's duty in an `oncall` answer.
type OnCallLine struct {
	OnCall
	Rotation *Rotation
	Lead     string // SIGs only
	// Change is when the duty next passes to someone else (zero: not
	// within a year), and Next who takes it then.
	Change  time.Time
	Next    OnCall
	Pending *Handover
}

// Who answers `oncall`: who is on duty for a team, or for every SIG and the
// officers when team is empty, at a moment (zero: now), and until when.
func (d *Duty) Who(ctx context.Context, a Actor, teamName string, at time.Time) (time.Time, []OnCallLine, error) {
	if err := requireMember(a); err != nil {
		return time.Time{}, nil, err
	}
	st := d.svc.Settings()
	if at.IsZero() {
		at = d.svc.clock.Now()
	}
	teams := append(st.SIGNames(), Officers)
	if teamName != "" {
		name, _, err := team(st, teamName)
		if err != nil {
			return at, nil, err
		}
		teams = []string{name}
	}
	// The roster is read from the earlier of now and at, so the answer for
	// a past moment sees the covers that were in force then.
	since := at
	if now := d.svc.clock.Now(); now.Before(since) {
		since = now
	}
	rs, err := d.store.RosterState(ctx, since)
	if err != nil {
		return at, nil, err
	}
	var out []OnCallLine
	for _, t := range teams {
		l := OnCallLine{OnCall: OnDutyAt(st, rs, t, at), Rotation: st.Officers}
		if g := st.SIG(t); g != nil && t != Officers {
			l.Rotation, l.Lead, l.Pending = g.Rotation, rs.Lead(g), rs.PendingHandover(g.Name)
		}
		l.Change, l.Next = NextChange(st, rs, t, at)
		out = append(out, l)
	}
	return at, out, nil
}

// RosterView is what `roster` shows: covers and absences in force or
// planned, pending hand-overs, and the latest changes.
type RosterView struct {
	Overrides []*Override
	Pending   []*Handover
	History   []RosterEvent
}

// View returns the roster of a team (every team when empty).
func (d *Duty) View(ctx context.Context, a Actor, teamName string, limit int) (RosterView, error) {
	if err := requireMember(a); err != nil {
		return RosterView{}, err
	}
	st, now := d.svc.Settings(), d.svc.clock.Now()
	if teamName != "" {
		name, _, err := team(st, teamName)
		if err != nil {
			return RosterView{}, err
		}
		teamName = name
	}
	rs, err := d.store.RosterState(ctx, now)
	if err != nil {
		return RosterView{}, err
	}
	var v RosterView
	for _, o := range rs.Overrides {
		if teamName == "" || o.Kind == OverrideAway || strings.EqualFold(o.SIG, teamName) {
			v.Overrides = append(v.Overrides, o)
		}
	}
	slices.SortStableFunc(v.Overrides, func(x, y *Override) int { return x.From.Compare(y.From) })
	for _, h := range rs.Handovers {
		if h.Pending() && (teamName == "" || strings.EqualFold(h.SIG, teamName)) {
			v.Pending = append(v.Pending, h)
		}
	}
	v.History, err = d.store.RosterHistory(ctx, teamName, limit)
	return v, err
}
