package bot

import "time"

// NextAction returns the first moment after t at which the sweep could do
// something new about the incident by the passing of time alone: its
// deadline passes, the next rung of the escalation ladder or the next nag
// period begins, an embargo warning falls due, or a snooze ends. Zero means
// never (a closed incident, or one with no deadline and no embargo ahead).
//
// It is the rule behind the sweep reading only what is due: a sweep that
// has looked at an incident at t, and recorded or held every nag it
// planned, need not look again before NextAction(st, t) unless the
// incident, the roster or the settings change, and each of those makes
// the sweep look again (see Duty.Sweep).
func (inc *Incident) NextAction(st *Settings, t time.Time) time.Time {
	return inc.nextAction(st.escalation(), st.Policy(inc.SIG).EmbargoWarnings, t)
}

// nextAction is NextAction with the policies looked up: the sweep finds
// them once per SIG, not once per incident.
func (inc *Incident) nextAction(esc EscalationPolicy, embargoWarnings []time.Duration, t time.Time) time.Time {
	if !inc.State.Open() {
		return time.Time{}
	}
	if inc.SnoozedUntil.After(t) {
		// Nothing is planned while snoozed; at its end everything that
		// fell due meanwhile comes at once.
		return inc.SnoozedUntil
	}
	var next time.Time
	consider := func(b time.Time) {
		if b.After(t) && (next.IsZero() || b.Before(next)) {
			next = b
		}
	}
	if !inc.Due.IsZero() {
		// Overdue begins just after the deadline (Incident.Overdue).
		consider(inc.Due.Add(time.Nanosecond))
		consider(inc.Due.Add(esc.DeputyAfter))
		consider(inc.Due.Add(esc.OfficersAfter))
		if since := t.Sub(inc.Due); since >= 0 {
			consider(inc.Due.Add((since/esc.Repeat + 1) * esc.Repeat))
		}
	}
	if !inc.Embargo.IsZero() && inc.State != StateDisclosed && t.Before(inc.Embargo) {
		for _, w := range embargoWarnings {
			consider(inc.Embargo.Add(-w))
		}
	}
	return next
}
