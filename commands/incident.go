package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// changed renders an outcome: what happened and the deadline now running,
// or, when nothing changed, the unchanged text (%ID stands for the id).
func (h *handlers) changed(req *Request, out bot.Outcome, did, unchanged string) Reply {
	inc := out.Incident
	if !out.Changed {
		return same("%s", strings.ReplaceAll(unchanged, "%ID", inc.Name()))
	}
	return ok("%s Next: %s.", strings.ReplaceAll(did, "%ID", inc.Name()), dueText(inc, h.now().Now(), req.Actor.Location()))
}

func (h *handlers) claim(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.Claim(ctx, req.Actor, req.Rule, id)
	if err != nil {
		return Reply{}, err
	}
	return h.changed(req, out, "You claimed %ID; it is in "+string(out.Incident.State)+".", "You already hold %ID."), nil
}

func (h *handlers) unclaim(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.Unclaim(ctx, req.Actor, req.Rule, id)
	if err != nil {
		return Reply{}, err
	}
	to := "nobody"
	if out.Incident.Assignee != "" {
		to = out.Incident.Assignee
	}
	return ok("You released %s; it is back with %s.", out.Incident.Name(), to), nil
}

func (h *handlers) ack(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.Ack(ctx, req.Actor, req.Rule, id)
	if err != nil {
		return Reply{}, err
	}
	return h.changed(req, out, "You acknowledged %ID; it is in triage.", "%ID needs no acknowledgement."), nil
}

func (h *handlers) assign(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.Assign(ctx, req.Actor, req.Rule, id, req.Args[1])
	if err != nil {
		return Reply{}, err
	}
	return h.changed(req, out, "Assigned %ID to "+out.Incident.Assignee+".", "%ID is already assigned to "+out.Incident.Assignee+"."), nil
}

func (h *handlers) transition(action bot.Action) Handler {
	return HandlerFunc(func(ctx context.Context, req *Request) (Reply, error) {
		deliberate := takeFlag(req, bot.BeforeEmbargoFlag)
		id, err := incidentArg(req, 0)
		if err != nil {
			return Reply{}, err
		}
		note := req.Rest(1)
		if action == bot.ActionFixed || action == bot.ActionDisclose {
			if note, err = h.checkEmbargo(ctx, req, id, deliberate, note); err != nil {
				return Reply{}, err
			}
		}
		out, err := h.svc.Transition(ctx, req.Actor, req.Rule, id, action, note)
		if err != nil {
			return Reply{}, err
		}
		return h.changed(req, out, transitionText(out, action), ""), nil
	})
}

func (h *handlers) close(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	reason, err := bot.ParseCloseReason(req.Rest(1))
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.Close(ctx, req.Actor, req.Rule, id, reason, "")
	if err != nil {
		return Reply{}, err
	}
	return ok("Closed %s (%s).", out.Incident.Name(), out.Incident.CloseReason), nil
}

func (h *handlers) state(ctx context.Context, req *Request) (Reply, error) {
	deliberate := takeFlag(req, bot.BeforeEmbargoFlag)
	if len(req.Args) < 2 {
		return Reply{}, invalid("Usage: state <id> <state> [reason]")
	}
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	target := bot.State(strings.ToLower(req.Args[1]))
	known := false
	for _, s := range bot.States {
		known = known || s == target
	}
	if !known {
		return Reply{}, invalid("Unknown state %q; states: new, triage, fixing, disclosed, closed.", bot.EscapeControl(req.Args[1], false))
	}
	if target == bot.StateClosed {
		if len(req.Args) < 3 {
			return Reply{}, invalid("Closing needs a reason: close %d <fixed|rejected|wontfix|duplicate of SEC-n>.", id)
		}
		req.Args = append(req.Args[:1], req.Args[2:]...)
		return h.close(ctx, req)
	}
	note := req.Rest(2)
	if target == bot.StateDisclosed {
		if note, err = h.checkEmbargo(ctx, req, id, deliberate, note); err != nil {
			return Reply{}, err
		}
	}
	out, err := h.svc.SetState(ctx, req.Actor, req.Rule, id, target, note)
	if err != nil {
		return Reply{}, err
	}
	return h.changed(req, out, fmt.Sprintf("%%ID: %s → %s.", out.Before.State, out.Incident.State), "%ID is already in "+string(target)+"."), nil
}

func transitionText(out bot.Outcome, action bot.Action) string {
	if out.Incident.State == bot.StateClosed {
		return fmt.Sprintf("%%ID: %s → %s.", out.Before.State, stateText(out.Incident))
	}
	return fmt.Sprintf("%%ID: %s → %s (%s).", out.Before.State, out.Incident.State, action)
}
