package bot

import (
	"context"
	"sort"
	"strings"
	"time"
)

// Response-time measures, each from an incident's creation.
const (
	MeasureAcknowledge = "acknowledge" // first ack, claim or move out of new
	MeasureTriage      = "triage"      // the triage decision: to fixing, disclosed or closed
	MeasureFix         = "fix"         // disclosed (fixed or the advisory out)
)

// Measures are the measures in the order they are shown.
var Measures = []string{MeasureAcknowledge, MeasureTriage, MeasureFix}

// Milestones are when an incident reached each measure, read from its
// timeline; zero while it has not.
type Milestones struct {
	ID       int64
	SIG      string
	Severity Severity
	State    State
	Assignee string
	Created  time.Time
	Reached  map[string]time.Time // by measure
}

// Took is how long the incident took to reach measure; ok is false while
// it has not.
func (m Milestones) Took(measure string) (time.Duration, bool) {
	t, ok := m.Reached[measure]
	if !ok || t.IsZero() {
		return 0, false
	}
	return t.Sub(m.Created), true
}

// MilestonesOf reads an incident's milestones from its events, oldest
// first. The timeline is the record: what a state event says happened is
// what is measured.
func MilestonesOf(inc *Incident, events []Event) Milestones {
	m := Milestones{ID: inc.ID, SIG: inc.SIG, Severity: inc.Severity, State: inc.State, Assignee: inc.Assignee,
		Created: inc.Created, Reached: map[string]time.Time{}}
	reach := func(measure string, at time.Time) {
		if _, done := m.Reached[measure]; !done {
			m.Reached[measure] = at
		}
	}
	for _, ev := range events {
		switch ev.Kind {
		case EventCreated:
			if m.Created.IsZero() || ev.At.Before(m.Created) {
				m.Created = ev.At
			}
		case EventAcked, EventClaimed:
			reach(MeasureAcknowledge, ev.At)
		case EventState:
			from, to, ok := stateMove(ev.Details)
			if !ok {
				continue
			}
			if from == StateNew {
				reach(MeasureAcknowledge, ev.At)
			}
			if (from == StateNew || from == StateTriage) && to != StateNew && to != StateTriage {
				reach(MeasureTriage, ev.At)
			}
			if to == StateDisclosed { // closed as fixed comes only after disclosed

				reach(MeasureFix, ev.At)
			}
		}
	}
	return m
}

// stateMove reads "fixing → disclosed: note" from a state event.
func stateMove(details string) (from, to State, ok bool) {
	f, rest, ok := strings.Cut(details, " → ")
	if !ok {
		return "", "", false
	}
	t, _, _ := strings.Cut(rest, " ")
	t, _, _ = strings.Cut(t, ":")
	return State(f), State(t), true
}

// Spread is the median and 90th percentile of N durations.
type Spread struct {
	N           int
	Median, P90 time.Duration
}

// spreadOf uses the nearest-rank percentile: a value that occurred.
func spreadOf(ds []time.Duration) Spread {
	if len(ds) == 0 {
		return Spread{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return Spread{N: len(ds), Median: rank(0.5), P90: rank(0.9)}
}

// StatsGroup is the spreads of one group of incidents: all of them, a
// SIG's, a severity's.
type StatsGroup struct {
	Name      string // "all", "SIG core", "severity high"
	Incidents int
	Spreads   map[string]Spread // by measure
}

// PersonLoad is how many open incidents a person is assigned.
type PersonLoad struct {
	Person string // "" for unassigned
	Open   int
}

// Stats is what `stats` shows.
type Stats struct {
	Since      time.Time // zero: all time
	Groups     []StatsGroup
	Load       []PersonLoad // most loaded first
	Milestones []Milestones // per incident, oldest first
}

// StatsQuery selects the incidents measured.
type StatsQuery struct {
	SIG   string
	Since time.Time // created at or after; zero: all
}

// Stats measures response times from the timelines of the incidents
// created since q.Since (in q.SIG), by SIG and by severity, and counts the
// open incidents each person holds now.
func (s *Service) Stats(ctx context.Context, a Actor, q StatsQuery) (Stats, error) {
	if err := requireMember(a); err != nil {
		return Stats{}, err
	}
	f := IncidentFilter{}
	if q.SIG != "" {
		g := s.Settings().SIG(q.SIG)
		if g == nil {
			return Stats{}, Errorf(KindNotFound, "There is no SIG %q; SIGs: %s.", q.SIG, strings.Join(s.Settings().SIGNames(), ", "))
		}
		f.SIG = g.Name
	}
	incs, err := s.store.ListIncidents(ctx, f)
	if err != nil {
		return Stats{}, err
	}
	var ms []Milestones
	for _, inc := range incs {
		if !q.Since.IsZero() && inc.Created.Before(q.Since) {
			continue
		}
		events, err := s.store.Events(ctx, inc.ID)
		if err != nil {
			return Stats{}, err
		}
		ms = append(ms, MilestonesOf(inc, events))
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	st := Summarize(ms)
	st.Since = q.Since
	// The load is now, whenever the incidents were created.
	load := map[string]int{}
	for _, inc := range incs {
		if inc.State.Open() {
			load[inc.Assignee]++
		}
	}
	for p, n := range load {
		st.Load = append(st.Load, PersonLoad{Person: p, Open: n})
	}
	sort.Slice(st.Load, func(i, j int) bool {
		if st.Load[i].Open != st.Load[j].Open {
			return st.Load[i].Open > st.Load[j].Open
		}
		return st.Load[i].Person < st.Load[j].Person
	})
	return st, nil
}

// Summarize groups milestones: all, then by SIG, then by severity (most
// severe first), each with the spread of every measure.
func Summarize(ms []Milestones) Stats {
	st := Stats{Milestones: ms}
	group := func(name string, keep func(Milestones) bool) {
		g := StatsGroup{Name: name, Spreads: map[string]Spread{}}
		byMeasure := map[string][]time.Duration{}
		for _, m := range ms {
			if !keep(m) {
				continue
			}
			g.Incidents++
			for _, measure := range Measures {
				if d, ok := m.Took(measure); ok {
					byMeasure[measure] = append(byMeasure[measure], d)
				}
			}
		}
		for _, measure := range Measures {
			g.Spreads[measure] = spreadOf(byMeasure[measure])
		}
		if g.Incidents > 0 {
			st.Groups = append(st.Groups, g)
		}
	}
	group("all", func(Milestones) bool { return true })
	sigs := map[string]bool{}
	for _, m := range ms {
		sigs[m.SIG] = true
	}
	names := make([]string, 0, len(sigs))
	for n := range sigs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		group("SIG "+n, func(m Milestones) bool { return m.SIG == n })
	}
	for _, sev := range []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityUnknown} {
		group("severity "+string(sev), func(m Milestones) bool { return m.Severity == sev })
	}
	return st
}
