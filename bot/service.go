package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Roster answers who is on duty. Duty implements it with rotations, covers
// and absences; without one, a SIG's lead is on duty and the first officer
// manages.
type Roster interface {
	// OnDuty returns the person names on the hook for a SIG at t: the
	// contact who fixes and the officer who manages.
	OnDuty(ctx context.Context, sig string, at time.Time) (assignee, manager string, err error)
	// Lead returns the SIG's lead now: the config's, or whoever accepted
	// a hand-over since.
	Lead(ctx context.Context, sig string) (string, error)
}

// Service applies commands to incidents. Every changing method takes the
// Rule that says who may make the change and checks it inside the one
// store transaction that changes the incident, appends the events and
// queues the notices.
type Service struct {
	store    IncidentStore
	clock    Clock
	log      *slog.Logger
	settings atomic.Pointer[Settings]
	roster   atomic.Value // holds rosterBox
	wake     func()
}

type rosterBox struct{ r Roster }

// NewService makes the service. settings must be valid (config.Validate).
func NewService(store IncidentStore, clock Clock, log *slog.Logger, settings *Settings) *Service {
	s := &Service{store: store, clock: clock, log: log, wake: func() {}}
	s.settings.Store(settings)
	s.roster.Store(rosterBox{})
	return s
}

// Settings returns the settings in force.
func (s *Service) Settings() *Settings { return s.settings.Load() }

// SetSettings swaps in new settings (config reload). Commands already
// running finish with the settings they started with.
func (s *Service) SetSettings(settings *Settings) { s.settings.Store(settings) }

// SetRoster installs who-is-on-duty logic.
func (s *Service) SetRoster(r Roster) { s.roster.Store(rosterBox{r}) }

// OnEnqueue sets a function called after messages were committed to the
// outbox, to wake the worker.
func (s *Service) OnEnqueue(wake func()) { s.wake = wake }

// Clock returns the service's clock.
func (s *Service) Clock() Clock { return s.clock }

// Store returns the incident store, for adapters that read incidents.
func (s *Service) Store() IncidentStore { return s.store }

// onDuty asks the roster, falling back to the SIG lead and first officer.
func (s *Service) onDuty(ctx context.Context, settings *Settings, sig string, at time.Time) (string, string) {
	if r := s.roster.Load().(rosterBox).r; r != nil {
		a, m, err := r.OnDuty(ctx, sig, at)
		if err == nil {
			return a, m
		}
		s.log.Error("roster lookup failed; using the SIG lead", "sig", sig, "err", err)
	}
	var assignee, manager string
	if g := settings.SIG(sig); g != nil {
		assignee = g.Lead
	}
	if officers := settings.People.Officers(); len(officers) > 0 {
		manager = officers[0].Name
	}
	return assignee, manager
}

// lead returns the SIG's lead, asking the roster about hand-overs.
func (s *Service) lead(ctx context.Context, settings *Settings, sig string) string {
	if r := s.roster.Load().(rosterBox).r; r != nil {
		l, err := r.Lead(ctx, sig)
		if err == nil {
			return l
		}
		s.log.Error("roster lookup failed; using the config's SIG lead", "sig", sig, "err", err)
	}
	if g := settings.SIG(sig); g != nil {
		return g.Lead
	}
	return ""
}

// Outcome is the result of a change: the incident after it, and whether
// anything changed (claiming what you already hold changes nothing).
type Outcome struct {
	Incident *Incident
	Before   *Incident
	Changed  bool
}

// mutation changes inc (a copy) and describes the change. It returns
// changed=false to report success without writing anything.
type mutation func(settings *Settings, inc *Incident, ch *Change) (changed bool, err error)

// update is the one path every incident change takes: the rule's check
// inside the transaction, against the incident as it is then, before
// anything else is looked at; then the change, deadline recomputation,
// timestamps, events and notices. what completes a refusal ("Only … can
// <what>").
func (s *Service) update(ctx context.Context, a Actor, rule Rule, what string, id int64, fn mutation) (Outcome, error) {
	return s.change(ctx, a, rule, what, id, true, fn)
}

// change is update; activity says whether a person's change counts as
// progress for the stale deadline (a snooze does not).
func (s *Service) change(ctx context.Context, a Actor, rule Rule, what string, id int64, activity bool, fn mutation) (Outcome, error) {
	if err := rule.Precheck(a, what); err != nil {
		return Outcome{}, err
	}
	settings := s.Settings()
	var out Outcome
	inc, err := s.store.UpdateIncident(ctx, id, func(inc *Incident) (Change, error) {
		if err := s.authorize(ctx, settings, a, rule, inc, what); err != nil {
			return Change{}, err
		}
		out.Before = inc.Clone()
		var ch Change
		changed, err := fn(settings, inc, &ch)
		if err != nil {
			return Change{}, err
		}
		out.Changed = changed
		if !changed {
			return Change{}, errNoChange
		}
		now := s.clock.Now()
		inc.Updated = now
		if a.Person != nil && activity {
			inc.LastActivity = now
		}
		if inc.State != out.Before.State {
			inc.StateSince = now
			ch.Outbox = append(ch.Outbox, reporterStageMail(settings, out.Before, inc)...)
		}
		settings.Policy(inc.SIG).Apply(inc)
		inc.SweepAt = now
		for i := range ch.Events {
			ch.Events[i].IncidentID = inc.ID
		}
		stampMessages(ch.Outbox, now)
		return ch, nil
	})
	if errors.Is(err, errNoChange) {
		return Outcome{Incident: out.Before, Before: out.Before}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	out.Incident = inc
	s.wake()
	return out, nil
}

// errNoChange rolls back an update that turned out to change nothing.
var errNoChange = &Error{Kind: KindInternal, Msg: "no change"}

// stampMessages dates queued messages by the service's clock, which the
// demo and simulations move by hand.
func stampMessages(msgs []OutboxMessage, now time.Time) {
	for i := range msgs {
		if msgs[i].Created.IsZero() {
			msgs[i].Created = now
		}
		if msgs[i].NextAttempt.IsZero() {
			msgs[i].NextAttempt = now
		}
	}
}
