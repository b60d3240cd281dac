package bot

import (
	"strings"
	"time"
)

// Event is one entry of an incident's timeline. Events are only ever
// appended: the store refuses updates and deletes.
type Event struct {
	ID         int64
	IncidentID int64
	At         time.Time
	Actor      string // person name, "sectriage" for the bot itself
	Platform   string
	Kind       string // what happened: EventClaimed, EventState, ...
	Details    string // human-readable detail; may hold team-written text
}

// Event kinds.
const (
	EventCreated   = "created"
	EventClaimed   = "claimed"
	EventUnclaimed = "unclaimed"
	EventAcked     = "acknowledged"
	EventAssigned  = "assigned"
	EventState     = "state"
	EventSeverity  = "severity"
	EventCVE       = "cve"
	EventEmbargo   = "embargo"
	EventDue       = "due"
	EventNote      = "note"
	EventRouted    = "routed"
)

func (s *Service) event(a Actor, kind, details string) Event {
	return Event{At: s.clock.Now(), Actor: a.Name(), Platform: a.Platform, Kind: kind, Details: details}
}

// publicKinds are the events whose details sectriage writes itself from
// team names, SIGs, states, levels and times: nothing a reporter wrote or
// that identifies them. Every other kind (created, with the signer and the
// reporter's key; notes; replies; kinds added later) shows its details only
// in private channels, so a new kind is hidden until someone decides.
var publicKinds = map[string]bool{
	EventClaimed: true, EventUnclaimed: true, EventAcked: true, EventAssigned: true,
	EventState: true, EventSeverity: true, EventCVE: true, EventEmbargo: true,
	EventDue: true, EventRouted: true, EventSnoozed: true, EventNagged: true,
	EventEscalated: true, EventApproved: true, EventScheduled: true,
}

// PublicDetails is what of an event's details may be shown in a reply that
// is not private; ok is false when nothing may. A state change shows the
// move, not the note typed with it ("triage → fixing: <note>").
func PublicDetails(ev Event) (details string, ok bool) {
	if !publicKinds[ev.Kind] {
		return "", false
	}
	if ev.Kind == EventState {
		if move, _, noted := strings.Cut(ev.Details, ": "); noted {
			return move + " (note shown only in private channels)", true
		}
	}
	return ev.Details, true
}
