package bot

import (
	"context"
	"time"
)

// Change is what an update adds besides the incident's new fields: timeline
// events and messages to send, committed in the same transaction so that a
// crash never loses one without the other.
type Change struct {
	Events []Event
	Outbox []OutboxMessage
}

// IncidentFilter selects incidents for list commands and sweeps.
type IncidentFilter struct {
	OpenOnly  bool
	Assignee  string    // person name
	SIG       string    // SIG name
	DueBefore time.Time // non-zero: only incidents whose deadline is before this
	Limit     int       // 0: no limit
}

// IncidentStore is what the service needs from storage.
type IncidentStore interface {
	// CreateIncident stores a new incident, assigns its id, then calls
	// build for the first events and messages (which need the id) and
	// stores them in the same transaction.
	CreateIncident(ctx context.Context, inc *Incident, build func(inc *Incident) Change) (*Incident, error)
	// UpdateIncident runs fn on the current incident inside a write
	// transaction, so that concurrent updates serialise: the second one sees
	// the first one's result. If fn fails nothing is written.
	UpdateIncident(ctx context.Context, id int64, fn func(inc *Incident) (Change, error)) (*Incident, error)
	// Incident returns an incident or a KindNotFound *Error.
	Incident(ctx context.Context, id int64) (*Incident, error)
	// ListIncidents returns matching incidents, most urgent deadline
	// first, those without a deadline last.
	ListIncidents(ctx context.Context, f IncidentFilter) ([]*Incident, error)
	CountIncidents(ctx context.Context, f IncidentFilter) (int, error)
	Events(ctx context.Context, incidentID int64) ([]Event, error)
	// Enqueue queues messages that belong to no incident update (alerts,
	// digests, intake notices) in one transaction.
	Enqueue(ctx context.Context, msgs []OutboxMessage) error
}

// OutboxFilter selects queued messages by platform: those of Platforms,
// or with Except those of every other platform. The zero value selects
// all.
type OutboxFilter struct {
	Platforms []string
	Except    bool
}

// OutboxStore is what the outbox worker needs from storage.
type OutboxStore interface {
	// DueMessagesWhere returns the undelivered messages f selects whose
	// next attempt is due, oldest first.
	DueMessagesWhere(ctx context.Context, f OutboxFilter, now time.Time, limit int) ([]OutboxMessage, error)
	MarkDelivered(ctx context.Context, id int64, at time.Time) error
	// MarkRetry records a failed attempt and when to try again.
	MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, errText string) error
	// MarkDead gives up on a message that can never be delivered.
	MarkDead(ctx context.Context, id int64, at time.Time, errText string) error
	// MarkHeld keeps a message the privacy rule refused: it is not due
	// again until ReleaseHeld, and never given up.
	MarkHeld(ctx context.Context, id int64, at time.Time, reason string) error
	// ReleaseHeld makes the held messages of the platforms f selects due
	// at now, so the next round asks the rule again.
	ReleaseHeld(ctx context.Context, f OutboxFilter, now time.Time) error
	// NextAttemptWhere returns the earliest pending attempt time of the
	// messages f selects, or zero if none.
	NextAttemptWhere(ctx context.Context, f OutboxFilter) (time.Time, error)
}
