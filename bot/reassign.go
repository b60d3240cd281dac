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

// reassign hands an incident to a stand-in or to the on-duty contact, as
// the system: it is not progress on the incident, so the stale clock keeps
// running. Nothing changes if the incident moved on meanwhile.
func (s *Service) reassign(ctx context.Context, r Reassignment) (bool, error) {
	out, err := s.update(ctx, SystemActor(), SystemOnly, "reassign it", r.Incident.ID, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
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
		if r.Away == nil && (inc.State != StateNew || inc.Claimed) {
			return false, nil // acknowledged or claimed meanwhile: it stays
		}
		*held = r.To
		if !r.Manager {
			inc.Claimed = false
		}
		var why, whyNotice, whyPing string
		if r.Away != nil {
			why = fmt.Sprintf("%s is away until %s", r.From, FormatTime(r.Away.Until, time.UTC))
			whyNotice = fmt.Sprintf("%s is away until %s", r.From, FormatTime(r.Away.Until, st.location()))
			whyPing = fmt.Sprintf("%s is away until %s, so you are now the %s of ", r.From, FormatTime(r.Away.Until, s.personLocation(st, r.To)), role)
		} else {
			why = fmt.Sprintf("nobody acknowledged it and %s is on duty for SIG %s now", r.To, inc.SIG)
			whyNotice = fmt.Sprintf("still unacknowledged, and the duty of SIG %s passed from %s to %s", inc.SIG, orNobody(r.From), r.To)
			whyPing = fmt.Sprintf("you are on duty for SIG %s now, so you are the %s of the unacknowledged ", inc.SIG, role)
		}
		ch.Events = append(ch.Events, s.event(SystemActor(), EventAssigned, fmt.Sprintf("%s %s → %s: %s", role, orNobody(r.From), r.To, why)))
		var t Text
		t.Plain(fmt.Sprintf("%s: %s; %s is now its %s.", inc.Name(), whyNotice, r.To, role))
		ch.Outbox = append(ch.Outbox, s.notices(st, SystemActor(), inc, t)...)
		var ping Text
		ping.Mention(r.To).Plain(" " + whyPing)
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
