package bot

import (
	"slices"
	"time"
)

// State is where an incident stands in the process (SPEC §1).
type State string

const (
	StateNew       State = "new"       // received; nobody has acknowledged it
	StateTriage    State = "triage"    // acknowledged; deciding whether it is real
	StateFixing    State = "fixing"    // confirmed vulnerability, fix under way
	StateDisclosed State = "disclosed" // fix released / advisory published
	StateClosed    State = "closed"    // done, with a reason
)

// States lists every state in process order.
var States = []State{StateNew, StateTriage, StateFixing, StateDisclosed, StateClosed}

// Open reports whether work on the incident is still expected.
func (s State) Open() bool { return s != StateClosed }

// Severity is the incident's impact level.
type Severity string

const (
	SeverityUnknown  Severity = "unknown"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists the levels from least to most severe.
var Severities = []Severity{SeverityUnknown, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// ParseSeverity accepts a level name in any case.
func ParseSeverity(s string) (Severity, bool) {
	for _, v := range Severities {
		if string(v) == lower(s) {
			return v, true
		}
	}
	return "", false
}

// SeverityForScore maps a CVSS base score to a level, with the bands of the
// CVSS 3.1 and 4.0 specifications (0.0 is "none", kept as low here: a
// reported issue is never below low once scored).
func SeverityForScore(score float64) Severity {
	switch {
	case score >= 9.0:
		return SeverityCritical
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	default:
		return SeverityLow
	}
}

// Incident is one vulnerability report being handled.
type Incident struct {
	ID       int64
	Title    string // from the report's (inner) subject: untrusted text
	SIG      string
	Severity Severity
	CVSS     string  // the vector, when severity came from one
	Score    float64 // the vector's base score
	State    State
	// CloseReason says why a closed incident was closed: fixed, rejected,
	// duplicate of SEC-n, wontfix.
	CloseReason string

	Assignee string // person name: the SIG contact who fixes
	Claimed  bool   // the assignee took it themselves (claim), not by rotation
	Manager  string // person name: the officer running the process
	AckedBy  string
	AckedAt  time.Time

	Reporter    string // reporter's address
	ReporterKey string // reporter's key fingerprint, when known
	ReportID    int64  // the stored report this incident came from, 0 if none
	Encrypted   bool   // the report arrived encrypted

	CVEs    []string
	Embargo time.Time // zero: none

	Created      time.Time
	Updated      time.Time
	StateSince   time.Time // when the current state was entered
	LastActivity time.Time // last change by a person: the stale clock

	// DueOverrides holds deadlines set by hand with `due`; they win over the
	// computed ones.
	DueOverrides map[DeadlineKind]time.Time
	// Due and DueKind are the earliest deadline that applies now, recomputed
	// on every change (see DeadlinePolicy.Apply). Zero when none applies.
	Due     time.Time
	DueKind DeadlineKind

	SnoozedUntil time.Time

	// SweepAt is when the escalation sweep must next look at the
	// incident: set to the time of every change (only the sweep knows the
	// roster and the nags sent, so it decides what the change means), and
	// moved by the sweep to NextAction once it has looked.
	SweepAt time.Time
}

// Name is the incident's display id: SEC-42.
func (inc *Incident) Name() string { return FormatID(inc.ID) }

// Overdue reports whether the incident's current deadline has passed.
func (inc *Incident) Overdue(now time.Time) bool {
	return inc.State.Open() && !inc.Due.IsZero() && now.After(inc.Due)
}

// HasCVE reports whether id is recorded on the incident.
func (inc *Incident) HasCVE(id string) bool { return slices.Contains(inc.CVEs, id) }

// Clone returns a deep copy, so that a failed update never leaks changes.
func (inc *Incident) Clone() *Incident {
	c := *inc
	c.CVEs = slices.Clone(inc.CVEs)
	if inc.DueOverrides != nil {
		c.DueOverrides = make(map[DeadlineKind]time.Time, len(inc.DueOverrides))
		for k, v := range inc.DueOverrides {
			c.DueOverrides[k] = v
		}
	}
	return &c
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
