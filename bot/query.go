package bot

import (
	"context"
	"strings"
)

// Get returns an incident for a team member.
func (s *Service) Get(ctx context.Context, a Actor, id int64) (*Incident, error) {
	if err := requireMember(a); err != nil {
		return nil, err
	}
	return s.store.Incident(ctx, id)
}

// Timeline returns an incident and its events, oldest first.
func (s *Service) Timeline(ctx context.Context, a Actor, id int64) (*Incident, []Event, error) {
	inc, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	events, err := s.store.Events(ctx, id)
	return inc, events, err
}

// ListQuery is what `list` asks for.
type ListQuery struct {
	Mine    bool   // assigned to the actor
	Overdue bool   // past their current deadline
	SIG     string // one SIG
	All     bool   // closed ones too
	Limit   int
}

// DefaultListLimit is how many incidents a list shows: a chat message, not
// a report. The reply says how many more there are.
const DefaultListLimit = 50

// List returns the most urgent matching incidents (at most q.Limit, or
// DefaultListLimit) and how many match in all.
func (s *Service) List(ctx context.Context, a Actor, q ListQuery) ([]*Incident, int, error) {
	if err := requireMember(a); err != nil {
		return nil, 0, err
	}
	f := IncidentFilter{OpenOnly: !q.All, Limit: q.Limit}
	if f.Limit <= 0 {
		f.Limit = DefaultListLimit
	}
	if q.Mine {
		if a.Person == nil {
			return nil, 0, Errorf(KindInvalid, "Only a person has incidents of their own.")
		}
		f.Assignee = a.Person.Name
	}
	if q.SIG != "" {
		g := s.Settings().SIG(q.SIG)
		if g == nil {
			return nil, 0, Errorf(KindNotFound, "There is no SIG %q; SIGs: %s.", q.SIG, strings.Join(s.Settings().SIGNames(), ", "))
		}
		f.SIG = g.Name
	}
	if q.Overdue {
		f.DueBefore = s.clock.Now()
	}
	list, err := s.store.ListIncidents(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	total := len(list)
	if total == f.Limit {
		if total, err = s.store.CountIncidents(ctx, f); err != nil {
			return nil, 0, err
		}
	}
	return list, total, nil
}
