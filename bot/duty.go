package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// RosterStore keeps covers, absences, lead hand-overs and the roster's
// history.
type RosterStore interface {
	// RosterState returns the covers and absences that end after since,
	// the pending hand-overs and the latest accepted one of each SIG.
	RosterState(ctx context.Context, since time.Time) (*RosterState, error)
	// ChangeRoster reads the same state inside a write transaction, calls
	// fn, and stores the change it returns; if fn fails nothing is written.
	ChangeRoster(ctx context.Context, since time.Time, fn func(rs *RosterState) (RosterChange, error)) error
	// RosterHistory returns the newest roster events first; a non-empty
	// team keeps only its events and those about no team (absences).
	RosterHistory(ctx context.Context, team string, limit int) ([]RosterEvent, error)
}

// RosterChange is what a roster command writes, in one transaction.
type RosterChange struct {
	Add []*Override // new covers and absences; their IDs are set when stored
	// End moves the end of existing overrides (by ID) earlier: someone is
	// back before they said.
	End map[int64]time.Time
	// Handovers are stored as given: ID 0 inserts, any other ID updates
	// Accepted and Cancelled.
	Handovers []*Handover
	Events    []RosterEvent
	Outbox    []OutboxMessage
}

// SweepQuery selects open incidents for a sweep, a page at a time. With
// Due set, it selects those whose SweepAt is at or before Due, in
// (SweepAt, ID) order after the cursor (AfterAt, AfterID). Otherwise it
// selects, in ID order after AfterID, every open incident (All), or those
// of SIGs and those whose assignee or manager is one of People. Limit 0
// means no limit.
type SweepQuery struct {
	Due     time.Time
	All     bool
	SIGs    []string
	People  []string
	AfterAt time.Time
	AfterID int64
	Limit   int
}

// SweepMark moves an incident's SweepAt to At, unless the incident
// changed since Seen was read: a change made meanwhile was not planned
// for, so its own SweepAt (the time of the change) stands.
type SweepMark struct {
	Seen *Incident
	At   time.Time // zero: never, until the incident changes
}

// NagQuery selects recorded nags: those whose period starts at or after
// Since, of Topic if set, about Subjects if any.
type NagQuery struct {
	Since    time.Time
	Topic    string
	Subjects []int64
}

// NagStore records the nags that were sent, so that nobody is asked twice
// about the same thing in one period, across restarts too.
type NagStore interface {
	SweepIncidents(ctx context.Context, q SweepQuery) ([]*Incident, error)
	// MarkSwept stores when the sweep must look at incidents again.
	MarkSwept(ctx context.Context, marks []SweepMark) error
	// NagHistory returns the keys of the nags q selects.
	NagHistory(ctx context.Context, q NagQuery) (NagHistory, error)
	// RecordNags stores each record whose key is new, with its events and
	// messages, in one transaction; records already stored are skipped.
	// It returns how many were new.
	RecordNags(ctx context.Context, records []NagRecord) (int, error)
	// LatestPeriod returns the latest period recorded for a topic, or zero.
	LatestPeriod(ctx context.Context, topic string) (time.Time, error)
	// Enqueue queues messages that belong to no incident update.
	Enqueue(ctx context.Context, msgs []OutboxMessage) error
}

// DutyStore is everything Duty needs from storage.
type DutyStore interface {
	RosterStore
	NagStore
	IncidentLister
}

// IncidentLister lists incidents, for reminders and digests.
type IncidentLister interface {
	ListIncidents(ctx context.Context, f IncidentFilter) ([]*Incident, error)
}

// Duty is the roster at work: it answers who is on duty (it is the
// service's Roster), changes the roster on command, and runs the sweeps,
// reminders and digests that the scheduler triggers.
type Duty struct {
	svc   *Service
	store DutyStore
	log   *slog.Logger

	// sweeping serialises sweeps and guards seen: the roster as the last
	// complete sweep saw it, so the next one reads, besides the incidents
	// that are due, only those a roster change may concern. Nil (at start)
	// makes the next sweep read every open incident.
	sweeping sync.Mutex
	seen     *rosterView
}

var _ Roster = (*Duty)(nil)

// NewDuty makes the roster for a service; install it with svc.SetRoster.
func NewDuty(svc *Service, store DutyStore, log *slog.Logger) *Duty {
	return &Duty{svc: svc, store: store, log: log.With("component", "roster")}
}

// OnDuty implements Roster.
func (d *Duty) OnDuty(ctx context.Context, sig string, at time.Time) (assignee, manager string, err error) {
	rs, err := d.store.RosterState(ctx, at)
	if err != nil {
		return "", "", err
	}
	st := d.svc.Settings()
	return OnDutyAt(st, rs, sig, at).Person, OnDutyAt(st, rs, Officers, at).Person, nil
}

// Lead implements Roster.
func (d *Duty) Lead(ctx context.Context, sig string) (string, error) {
	rs, err := d.store.RosterState(ctx, d.svc.clock.Now())
	if err != nil {
		return "", err
	}
	return rs.Lead(d.svc.Settings().SIG(sig)), nil
}
