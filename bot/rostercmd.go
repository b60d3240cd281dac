package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MaxCover bounds covers and absences: anything longer is a change of the
// rotation, which belongs in the config.
const MaxCover = 366 * 24 * time.Hour

// team resolves a SIG name or "officers" for a roster command.
func team(st *Settings, name string) (string, *SIG, error) {
	if strings.EqualFold(name, Officers) {
		return Officers, nil, nil
	}
	if g := st.SIG(name); g != nil {
		return g.Name, g, nil
	}
	return "", nil, Errorf(KindNotFound, "There is no SIG %q; SIGs: %s (and officers, for the incident managers).",
		EscapeControl(name, false), strings.Join(st.SIGNames(), ", "))
}

func person(st *Settings, name string) (*Person, error) {
	if p := st.People.ByName(name); p != nil {
		return p, nil
	}
	return nil, Errorf(KindNotFound, "Nobody called %q is on the team; known people: %s.",
		EscapeControl(name, false), strings.Join(st.People.Names(), ", "))
}

// teamScope is what a rule looks at for a change of a team's roster: its
// lead as the roster has it now (the officers' rotation has none).
func teamScope(rs *RosterState, teamName string, g *SIG) Scope {
	sc := Scope{Team: teamName}
	if g != nil {
		sc.Leads = []string{rs.Lead(g)}
	}
	return sc
}

// personScope is what a rule looks at for a change about a person: the
// leads of every SIG they belong to.
func personScope(st *Settings, rs *RosterState, name string) Scope {
	sc := Scope{Person: name}
	for _, g := range st.SIGs {
		if g.IsMember(name) {
			sc.Leads = append(sc.Leads, rs.Lead(g))
		}
	}
	return sc
}

// rosterNotice tells the triage channels about a roster change, except on
// the platform the actor used.
func rosterNotice(st *Settings, a Actor, text Text) []OutboxMessage {
	var out []OutboxMessage
	for _, p := range st.Platforms {
		if p != a.Platform {
			out = append(out, OutboxMessage{Dest: Destination{Platform: p, Channel: ChannelTriage}, Kind: MessageNotice, Text: text})
		}
	}
	return out
}

// rosterPing tells a person about a roster change that concerns them,
// unless they made it themselves; it waits for their quiet hours to end.
func rosterPing(st *Settings, a Actor, now time.Time, name string, text Text) []OutboxMessage {
	p := st.People.ByName(name)
	if p == nil || (a.Person != nil && a.Person.Name == p.Name) {
		return nil
	}
	msgs := nagMessages(st, p, 0, MessagePing, text, false)
	if end := quietEnd(p.QuietHours, now, p.Location); end.After(now) {
		for i := range msgs {
			msgs[i].NextAttempt = end
		}
	}
	return msgs
}

func (d *Duty) rosterEvent(a Actor, kind, sig, person, details string) RosterEvent {
	return RosterEvent{At: d.svc.clock.Now(), Actor: a.Name(), Platform: a.Platform, Kind: kind, SIG: sig, Person: person, Details: details}
}

// checkSpan validates a cover or absence: it must end in the future, after
// it starts, and within MaxCover. A start in the past means now.
func checkSpan(now, from, until time.Time, loc *time.Location) (time.Time, error) {
	if from.Before(now) {
		from = now
	}
	if !until.After(now) {
		return from, Errorf(KindInvalid, "The end %s is not in the future.", FormatTime(until, loc))
	}
	if !until.After(from) {
		return from, Errorf(KindInvalid, "The end %s is not after the start %s.", FormatTime(until, loc), FormatTime(from, loc))
	}
	if until.Sub(from) > MaxCover {
		return from, Errorf(KindInvalid, "That is longer than a year; change the rotation in the config instead.")
	}
	return from, nil
}

// Cover puts person on duty for a team (a SIG or the officers) from from
// until until, over the rotation. The newest cover wins where covers
// overlap, so a mistake is corrected by covering again.
// The commands pass LeadOrOfficer: the team's lead (none for the
// officers' rotation) or an officer.
func (d *Duty) Cover(ctx context.Context, a Actor, rule Rule, teamName, name string, from, until time.Time) (*Override, error) {
	if err := rule.Precheck(a, "change the roster"); err != nil {
		return nil, err
	}
	st, now := d.svc.Settings(), d.svc.clock.Now()
	teamName, g, err := team(st, teamName)
	if err != nil {
		return nil, err
	}
	what := "change the roster of " + teamName
	if g == nil { // the officers' rotation: no lead, refuse before anything else
		what = "change the officers' rotation"
		if err := rule.Check(a, teamScope(nil, teamName, nil), what); err != nil {
			return nil, err
		}
	}
	p, err := person(st, name)
	if err != nil {
		return nil, err
	}
	if teamName == Officers && !p.IsOfficer() {
		return nil, Errorf(KindInvalid, "%s is not a security officer, so cannot cover the officers' rotation (incident managers are officers).", p.Name)
	}
	if from, err = checkSpan(now, from, until, a.Location()); err != nil {
		return nil, err
	}
	o := &Override{Kind: OverrideCover, SIG: teamName, Person: p.Name, From: from, Until: until, Created: now, By: a.Name()}
	err = d.store.ChangeRoster(ctx, now, func(rs *RosterState) (RosterChange, error) {
		if err := rule.Check(a, teamScope(rs, teamName, g), what); err != nil {
			return RosterChange{}, err
		}
		span := fmt.Sprintf("from %s until %s", FormatTime(from, st.location()), FormatTime(until, st.location()))
		var notice, ping Text
		notice.Plain(fmt.Sprintf("Roster: %s covers %s %s (set by %s).", p.Name, teamName, span, a.Name()))
		ping.Mention(p.Name).Plain(fmt.Sprintf(" %s set you on duty for %s from %s until %s.", a.Name(), teamName,
			FormatTime(from, p.Location), FormatTime(until, p.Location)))
		ch := RosterChange{Add: []*Override{o},
			Events: []RosterEvent{d.rosterEvent(a, OverrideCover, teamName, p.Name, fmt.Sprintf("%s covers %s from %s until %s",
				p.Name, teamName, FormatTime(from, time.UTC), FormatTime(until, time.UTC)))}}
		ch.Outbox = append(rosterNotice(st, a, notice), rosterPing(st, a, now, p.Name, ping)...)
		stampMessages(ch.Outbox, now)
		return ch, nil
	})
	if err != nil {
		return nil, err
	}
	d.svc.wake()
	return o, nil
}

// AwayResult is what `away` did.
type AwayResult struct {
	Person   string
	Override *Override // the new absence; nil when it ended absences
	Ended    int       // absences ended early ("until now")
	Started  bool      // the absence has begun: Handed is what moved
	Handed   []Reassignment
}

// Away records that a person is unavailable from from until until: their
// shifts go to stand-ins, and incidents they hold now go to the SIG's
// deputy (and the manager role to another officer). An until of now or
// earlier ends their current absence instead. People may declare
// themselves away; otherwise an officer or the lead of one of their SIGs
// (the commands pass SelfLeadOrOfficer).
func (d *Duty) Away(ctx context.Context, a Actor, rule Rule, name string, from, until time.Time) (AwayResult, error) {
	if err := rule.Precheck(a, "say someone is away"); err != nil {
		return AwayResult{}, err
	}
	st, now := d.svc.Settings(), d.svc.clock.Now()
	p, err := person(st, name)
	if err != nil {
		return AwayResult{}, err
	}
	res := AwayResult{Person: p.Name}
	ending := !until.After(now)
	if !ending {
		if from, err = checkSpan(now, from, until, a.Location()); err != nil {
			return AwayResult{}, err
		}
		res.Override = &Override{Kind: OverrideAway, Person: p.Name, From: from, Until: until, Created: now, By: a.Name()}
	}
	err = d.store.ChangeRoster(ctx, now, func(rs *RosterState) (RosterChange, error) {
		if err := rule.Check(a, personScope(st, rs, p.Name), "say "+p.Name+" is away"); err != nil {
			return RosterChange{}, err
		}
		var ch RosterChange
		var notice Text
		if ending {
			ch.End = map[int64]time.Time{}
			for _, o := range rs.Overrides {
				if o.Kind == OverrideAway && strings.EqualFold(o.Person, p.Name) && o.Covers(now) {
					ch.End[o.ID] = now
				}
			}
			if res.Ended = len(ch.End); res.Ended == 0 {
				return RosterChange{}, Errorf(KindConflict, "%s is not away; to plan an absence, give a time in the future.", p.Name)
			}
			ch.Events = append(ch.Events, d.rosterEvent(a, "back", "", p.Name, p.Name+" is back"))
			notice.Plain(fmt.Sprintf("Roster: %s is back (said %s).", p.Name, a.Name()))
		} else {
			ch.Add = []*Override{res.Override}
			ch.Events = append(ch.Events, d.rosterEvent(a, OverrideAway, "", p.Name, fmt.Sprintf("%s away from %s until %s",
				p.Name, FormatTime(from, time.UTC), FormatTime(until, time.UTC))))
			notice.Plain(fmt.Sprintf("Roster: %s is away from %s until %s (said %s); stand-ins take their shifts and incidents.",
				p.Name, FormatTime(from, st.location()), FormatTime(until, st.location()), a.Name()))
		}
		ch.Outbox = rosterNotice(st, a, notice)
		stampMessages(ch.Outbox, now)
		return ch, nil
	})
	if err != nil {
		return AwayResult{}, err
	}
	d.svc.wake()
	if res.Started = !ending && !from.After(now); res.Started {
		// Hand over what they hold now rather than at the next sweep, so
		// the reply can say where it went.
		if res.Handed, err = d.handOver(ctx, now, p.Name); err != nil {
			return res, err
		}
	}
	return res, nil
}

// handOver moves the open incidents an away person holds to stand-ins now.
func (d *Duty) handOver(ctx context.Context, now time.Time, name string) ([]Reassignment, error) {
	rs, err := d.store.RosterState(ctx, now)
	if err != nil {
		return nil, err
	}
	incidents, err := d.store.SweepIncidents(ctx, SweepQuery{People: []string{name}})
	if err != nil {
		return nil, err
	}
	plan := PlanSweep(now, d.svc.Settings(), rs, incidents, nil)
	var done []Reassignment
	for _, r := range plan.Reassign {
		if !strings.EqualFold(r.From, name) {
			continue // someone else's absence: the sweep handles it
		}
		changed, err := d.svc.reassign(ctx, r)
		if err != nil {
			return done, err
		}
		if changed {
			done = append(done, r)
		}
	}
	return done, nil
}
