package bot

import (
	"context"
	"fmt"
	"strings"
)

// Transition moves an incident along the state machine: confirm, fixed,
// disclose or reject. note, when not empty, is recorded with the event.
func (s *Service) Transition(ctx context.Context, a Actor, rule Rule, id int64, action Action, note string) (Outcome, error) {
	if action == ActionClose || action == ActionClaim || action == ActionAck {
		return Outcome{}, Errorf(KindInternal, "Transition does not handle %s", action)
	}
	return s.update(ctx, a, rule, string(action)+" it", id, s.transitionIt(a, action, note))
}

func (s *Service) transitionIt(a Actor, action Action, note string) mutation {
	return func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		to, err := Target(inc, action)
		if err != nil {
			return false, err
		}
		from := inc.State
		inc.State = to
		if action == ActionReject {
			inc.CloseReason = ReasonRejected
		}
		s.stateChanged(st, a, inc, from, action, note, ch)
		return true, nil
	}
}

// Close closes an incident with a reason (fixed, rejected, duplicate of
// SEC-n, wontfix).
func (s *Service) Close(ctx context.Context, a Actor, rule Rule, id int64, reason CloseReason, note string) (Outcome, error) {
	if reason.Kind == ReasonDuplicate {
		if _, err := s.store.Incident(ctx, reason.Duplicate); err != nil {
			if KindOf(err) == KindNotFound {
				return Outcome{}, Errorf(KindNotFound, "%s does not exist, so nothing can be a duplicate of it.", FormatID(reason.Duplicate))
			}
			return Outcome{}, err
		}
	}
	return s.update(ctx, a, rule, "close it", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if err := CheckClose(inc, reason); err != nil {
			return false, err
		}
		from := inc.State
		inc.State, inc.CloseReason = StateClosed, reason.String()
		s.stateChanged(st, a, inc, from, ActionClose, note, ch)
		return true, nil
	})
}

// SetState is the generic `state <id> <state>`: it picks, in the same
// transaction and after rule's check, the action that makes the move, so
// the same rules apply.
func (s *Service) SetState(ctx context.Context, a Actor, rule Rule, id int64, target State, note string) (Outcome, error) {
	if err := requirePerson(a, "change an incident's state"); err != nil {
		return Outcome{}, err
	}
	return s.update(ctx, a, rule, "change its state", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		action, err := ActionForState(inc, target)
		if err != nil {
			return false, err
		}
		switch action {
		case ActionAck:
			return s.ackIt(a)(st, inc, ch)
		case ActionClose:
			return false, Errorf(KindInvalid, "Closing needs a reason: close %d <fixed|rejected|wontfix|duplicate of SEC-n>.", id)
		default:
			return s.transitionIt(a, action, note)(st, inc, ch)
		}
	})
}

func (s *Service) stateChanged(st *Settings, a Actor, inc *Incident, from State, action Action, note string, ch *Change) {
	detail := fmt.Sprintf("%s → %s", from, inc.State)
	if inc.State == StateClosed {
		detail += " (" + inc.CloseReason + ")"
	}
	if note = strings.TrimSpace(note); note != "" {
		detail += ": " + note
	}
	ch.Events = append(ch.Events, s.event(a, EventState, detail))
	var t Text
	t.Plain(fmt.Sprintf("%s: %s ran %s: %s → %s", inc.Name(), a.Name(), action, from, inc.State))
	if inc.State == StateClosed {
		t.Plain(" (" + inc.CloseReason + ")")
	}
	t.Plain(".")
	ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
}
