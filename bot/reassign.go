package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Roster event kinds and the incident events the roster adds.
const (
	EventSnoozed   = "snoozed"
	EventNagged    = "nagged"    // the assignee or manager was reminded
	EventEscalated = "escalated" // a deputy or the officers were pinged
)

// reassign hands an incident from an away person to their stand-in, as the
// system: it is not progress on the incident, so the stale clock keeps
// running. Nothing changes if someone else took it meanwhile.
func (s *Service) reassign(ctx context.Context, r Reassignment) (bool, error) {
	out, err := s.update(ctx, SystemActor(), r.Incident.ID, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if !inc.State.Open() {
			return false, nil
		}
		role, held := "assignee", &inc.Assignee
		if r.Manager {
			role, held = "incident manager", &inc.Manager
		}
		if !strings.EqualFold(*held, r.From) || strings.EqualFold(*held, r.To) {
			return false, nil
		}
		*held = r.To
		if !r.Manager {
			inc.Claimed = false
		}
		back := FormatTime(r.Away.Until, time.UTC)
		ch.Events = append(ch.Events, s.event(SystemActor(), EventAssigned,
			fmt.Sprintf("%s %s → %s: %s is away until %s", role, r.From, r.To, r.From, back)))
		var t Text
		t.Plain(fmt.Sprintf("%s: %s is away until %s; %s is now its %s.", inc.Name(), r.From,
			FormatTime(r.Away.Until, st.location()), r.To, role))
		ch.Outbox = append(ch.Outbox, s.notices(st, SystemActor(), inc, t)...)
		var ping Text
		ping.Mention(r.To).Plain(fmt.Sprintf(" %s is away until %s, so you are now the %s of ", r.From,
			FormatTime(r.Away.Until, s.personLocation(st, r.To)), role))
		ping.Append(summaryLine(inc))
		if !inc.Due.IsZero() {
			ping.Plain(fmt.Sprintf(". %s due %s.", inc.DueKind, FormatTime(inc.Due, s.personLocation(st, r.To))))
		} else {
			ping.Plain(".")
		}
		for _, m := range s.pings(st, inc, r.To, MessagePing, "", ping) {
			m.Confidential = true
			ch.Outbox = append(ch.Outbox, m)
		}
		return true, nil
	})
	return out.Changed, err
}

// personLocation is the zone a person reads times in.
func (s *Service) personLocation(st *Settings, name string) *time.Location {
	if p := st.People.ByName(name); p != nil && p.Location != nil {
		return p.Location
	}
	return st.location()
}
