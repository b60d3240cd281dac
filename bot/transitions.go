package bot

import (
	"fmt"
	"regexp"
	"strings"
)

// Action is a state-changing verb. Each has the states it may start from and
// the state it leads to: the legal transitions of SPEC §1 and nothing else.
type Action string

const (
	ActionAck      Action = "ack"
	ActionClaim    Action = "claim"
	ActionConfirm  Action = "confirm"
	ActionFixed    Action = "fixed"
	ActionDisclose Action = "disclose"
	ActionReject   Action = "reject"
	ActionClose    Action = "close"
)

type transition struct {
	from []State
	to   State
}

var transitions = map[Action]transition{
	ActionAck:      {from: []State{StateNew}, to: StateTriage},
	ActionConfirm:  {from: []State{StateTriage}, to: StateFixing},
	ActionFixed:    {from: []State{StateFixing}, to: StateDisclosed},
	ActionDisclose: {from: []State{StateFixing}, to: StateDisclosed},
	ActionReject:   {from: []State{StateNew, StateTriage, StateFixing}, to: StateClosed},
	// close is legal from every open state, but only disclosed incidents may
	// close as "fixed"; see CheckClose.
	ActionClose: {from: []State{StateNew, StateTriage, StateFixing, StateDisclosed}, to: StateClosed},
}

// legalFrom describes, for an error message, what can be done from s.
var legalFrom = map[State]string{
	StateNew:       "ack or claim (→ triage), reject, or close with a reason (→ closed)",
	StateTriage:    "confirm (→ fixing), reject, or close with a reason (→ closed)",
	StateFixing:    "fixed or disclose (→ disclosed), reject, or close with a reason (→ closed)",
	StateDisclosed: "close (→ closed)",
}

// Target returns the state action leads to from the incident's current
// state, or an error naming the legal moves.
func Target(inc *Incident, action Action) (State, error) {
	tr, ok := transitions[action]
	if !ok {
		return "", Errorf(KindInternal, "unknown action %q", action)
	}
	for _, s := range tr.from {
		if s == inc.State {
			return tr.to, nil
		}
	}
	if inc.State == StateClosed {
		return "", closedError(inc)
	}
	return "", Errorf(KindConflict, "%s is in %s, where %s does not apply. From %s you can: %s.",
		inc.Name(), inc.State, action, inc.State, legalFrom[inc.State])
}

func closedError(inc *Incident) error {
	return Errorf(KindConflict, "%s is closed (%s); a closed incident cannot change state.", inc.Name(), inc.CloseReason)
}

// ActionForState picks the action that moves an incident from its state to
// target, for the generic `state <id> <state>` command.
func ActionForState(inc *Incident, target State) (Action, error) {
	for _, a := range []Action{ActionAck, ActionConfirm, ActionFixed} {
		if tr := transitions[a]; tr.to == target && containsState(tr.from, inc.State) {
			return a, nil
		}
	}
	if target == StateClosed {
		return ActionClose, nil
	}
	if inc.State == target {
		return "", Errorf(KindConflict, "%s is already in %s.", inc.Name(), target)
	}
	if inc.State == StateClosed {
		return "", closedError(inc)
	}
	return "", Errorf(KindConflict, "%s is in %s and cannot move to %s. From %s you can: %s.",
		inc.Name(), inc.State, target, inc.State, legalFrom[inc.State])
}

func containsState(list []State, s State) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Close reasons.
const (
	ReasonFixed     = "fixed"
	ReasonRejected  = "rejected"
	ReasonDuplicate = "duplicate"
	ReasonWontfix   = "wontfix"
)

// CloseReason is a parsed reason for closing.
type CloseReason struct {
	Kind      string // one of the Reason constants
	Duplicate int64  // for ReasonDuplicate: the incident this one duplicates
}

func (r CloseReason) String() string {
	if r.Kind == ReasonDuplicate {
		return "duplicate of " + FormatID(r.Duplicate)
	}
	return r.Kind
}

var duplicateRE = regexp.MustCompile(`(?i)^duplicate(?:\s+of)?\s+(\S+)$`)

// ParseCloseReason reads "fixed", "rejected", "wontfix", "duplicate of SEC-7"
// (also "duplicate 7", "dup #7").
func ParseCloseReason(s string) (CloseReason, error) {
	in := strings.TrimSpace(s)
	switch strings.ToLower(in) {
	case ReasonFixed, ReasonRejected, ReasonWontfix:
		return CloseReason{Kind: strings.ToLower(in)}, nil
	case "reject", "invalid", "notabug":
		return CloseReason{Kind: ReasonRejected}, nil
	case "won't fix", "wont-fix":
		return CloseReason{Kind: ReasonWontfix}, nil
	}
	if strings.HasPrefix(strings.ToLower(in), "dup ") {
		in = "duplicate " + in[4:]
	}
	if m := duplicateRE.FindStringSubmatch(in); m != nil {
		id, err := ParseIncidentID(m[1])
		if err != nil {
			return CloseReason{}, err
		}
		return CloseReason{Kind: ReasonDuplicate, Duplicate: id}, nil
	}
	return CloseReason{}, Errorf(KindInvalid, "%s", fmt.Sprintf("Unknown close reason %q; use fixed, rejected, wontfix or \"duplicate of SEC-n\".", s))
}

// CheckClose applies the rules that depend on the reason: "fixed" only after
// disclosure, anything else only before.
func CheckClose(inc *Incident, r CloseReason) error {
	if _, err := Target(inc, ActionClose); err != nil {
		return err
	}
	if r.Kind == ReasonFixed && inc.State != StateDisclosed {
		return Errorf(KindConflict, "%s is %s; it can close as fixed only once disclosed (run fixed or disclose first), or close as rejected, wontfix or a duplicate.", inc.Name(), inc.State)
	}
	if r.Kind != ReasonFixed && inc.State == StateDisclosed {
		return Errorf(KindConflict, "%s was disclosed; it can only close as fixed.", inc.Name())
	}
	if r.Kind == ReasonDuplicate && r.Duplicate == inc.ID {
		return Errorf(KindInvalid, "%s cannot be a duplicate of itself.", inc.Name())
	}
	return nil
}
