package bot

import "time"

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
