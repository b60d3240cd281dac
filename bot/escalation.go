package bot

import "time"

// EscalationPolicy says how the bot keeps asking about an incident whose
// deadline has passed: its assignee at once, the SIG's deputy after
// DeputyAfter, the security officers after OfficersAfter, and everyone
// reached so far again every Repeat until someone acts.
type EscalationPolicy struct {
	DeputyAfter   time.Duration
	OfficersAfter time.Duration
	// Repeat is the length of a nag period: one ping per person, incident
	// and period.
	Repeat time.Duration
	// MaxSnooze bounds `snooze`, so an incident cannot be silenced for
	// good by accident.
	MaxSnooze time.Duration
}

// DefaultEscalation is the policy when the config sets none.
func DefaultEscalation() EscalationPolicy {
	return EscalationPolicy{
		DeputyAfter:   4 * time.Hour,
		OfficersAfter: 12 * time.Hour,
		Repeat:        24 * time.Hour,
		MaxSnooze:     7 * 24 * time.Hour,
	}
}

// escalation returns the policy in force, filling in defaults.
func (s *Settings) escalation() EscalationPolicy {
	p, def := s.Escalation, DefaultEscalation()
	if p.DeputyAfter <= 0 {
		p.DeputyAfter = def.DeputyAfter
	}
	if p.OfficersAfter <= 0 {
		p.OfficersAfter = def.OfficersAfter
	}
	if p.Repeat <= 0 {
		p.Repeat = def.Repeat
	}
	if p.MaxSnooze <= 0 {
		p.MaxSnooze = def.MaxSnooze
	}
	return p
}
