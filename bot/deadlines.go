package bot

import (
	"time"
)

// DeadlineKind names one of the clocks that run on an incident (SPEC §5).
type DeadlineKind string

const (
	DeadlineAcknowledge DeadlineKind = "acknowledge" // new → triage
	DeadlineTriage      DeadlineKind = "triage"      // triage decision
	DeadlineFix         DeadlineKind = "fix"         // fix by severity
	DeadlineStale       DeadlineKind = "stale"       // no update on a fixing incident
	DeadlineEmbargo     DeadlineKind = "embargo"     // the embargo lifts
)

// DeadlineKinds lists the kinds in the order they usually come up.
var DeadlineKinds = []DeadlineKind{DeadlineAcknowledge, DeadlineTriage, DeadlineFix, DeadlineStale, DeadlineEmbargo}

// ParseDeadlineKind accepts a kind name ("ack" for acknowledge).
func ParseDeadlineKind(s string) (DeadlineKind, bool) {
	if lower(s) == "ack" {
		return DeadlineAcknowledge, true
	}
	for _, k := range DeadlineKinds {
		if string(k) == lower(s) {
			return k, true
		}
	}
	return "", false
}

// DeadlinePolicy says how long each stage may take.
type DeadlinePolicy struct {
	Acknowledge time.Duration
	Triage      time.Duration
	// Fix is keyed by severity; an unknown severity uses Fix[SeverityUnknown].
	Fix             map[Severity]time.Duration
	Stale           time.Duration
	EmbargoWarnings []time.Duration // how long before an embargo lifts to warn
	EmbargoMax      time.Duration   // longest embargo accepted without a warning (distros list: 14 days)
}

// DefaultDeadlines are SPEC §5's defaults.
func DefaultDeadlines() DeadlinePolicy {
	day := 24 * time.Hour
	return DeadlinePolicy{
		Acknowledge: 48 * time.Hour,
		Triage:      5 * day,
		Fix: map[Severity]time.Duration{
			SeverityCritical: 7 * day,
			SeverityHigh:     30 * day,
			SeverityMedium:   60 * day,
			SeverityLow:      90 * day,
			// Not yet scored: hold it to the medium clock until someone decides.
			SeverityUnknown: 60 * day,
		},
		Stale:           7 * day,
		EmbargoWarnings: []time.Duration{7 * day, day},
		EmbargoMax:      14 * day,
	}
}

// Deadlines returns every deadline that applies to inc in its current
// state, hand-set overrides included.
func (p DeadlinePolicy) Deadlines(inc *Incident) map[DeadlineKind]time.Time {
	out := map[DeadlineKind]time.Time{}
	switch inc.State {
	case StateNew:
		out[DeadlineAcknowledge] = inc.Created.Add(p.Acknowledge)
	case StateTriage:
		out[DeadlineTriage] = inc.StateSince.Add(p.Triage)
	case StateFixing:
		fix, ok := p.Fix[inc.Severity]
		if !ok {
			fix = p.Fix[SeverityUnknown]
		}
		out[DeadlineFix] = inc.StateSince.Add(fix)
		out[DeadlineStale] = inc.LastActivity.Add(p.Stale)
	}
	if !inc.Embargo.IsZero() && inc.State.Open() && inc.State != StateDisclosed {
		out[DeadlineEmbargo] = inc.Embargo
	}
	for k, t := range inc.DueOverrides {
		if _, applies := out[k]; applies {
			out[k] = t
		}
	}
	return out
}

// Apply recomputes inc.Due and inc.DueKind: the earliest deadline that
// applies now. Call it after every change to the incident.
func (p DeadlinePolicy) Apply(inc *Incident) {
	inc.Due, inc.DueKind = time.Time{}, ""
	all := p.Deadlines(inc)
	for _, k := range DeadlineKinds { // fixed order: ties resolve the same way every time
		t, ok := all[k]
		if ok && (inc.Due.IsZero() || t.Before(inc.Due)) {
			inc.Due, inc.DueKind = t, k
		}
	}
}

// Applies reports whether a deadline of kind k runs in the incident's state,
// so that `due` can refuse to set one that would never be checked.
func (p DeadlinePolicy) Applies(inc *Incident, k DeadlineKind) bool {
	_, ok := p.Deadlines(inc)[k]
	return ok
}
