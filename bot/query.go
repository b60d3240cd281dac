package bot

import (
	"context"
	"sort"
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

// List returns incidents, most urgent deadline first; those without a
// deadline come last, newest first.
func (s *Service) List(ctx context.Context, a Actor, q ListQuery) ([]*Incident, error) {
	if err := requireMember(a); err != nil {
		return nil, err
	}
	f := IncidentFilter{OpenOnly: !q.All, Limit: q.Limit}
	if q.Mine {
		if a.Person == nil {
			return nil, Errorf(KindInvalid, "Only a person has incidents of their own.")
		}
		f.Assignee = a.Person.Name
	}
	if q.SIG != "" {
		g := s.Settings().SIG(q.SIG)
		if g == nil {
			return nil, Errorf(KindNotFound, "There is no SIG %q; SIGs: %s.", q.SIG, strings.Join(s.Settings().SIGNames(), ", "))
		}
		f.SIG = g.Name
	}
	if q.Overdue {
		f.DueBefore = s.clock.Now()
	}
	list, err := s.store.ListIncidents(ctx, f)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Due.IsZero() != b.Due.IsZero() {
			return !a.Due.IsZero()
		}
		if !a.Due.Equal(b.Due) {
			return a.Due.Before(b.Due)
		}
		return a.ID > b.ID
	})
	return list, nil
}
