package commands

import (
	"context"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

func (h *handlers) cve(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	arg, remove := req.Args[1], false
	if len(req.Args) == 3 {
		if !strings.EqualFold(req.Args[1], "remove") {
			return Reply{}, invalid("Usage: cve <id> [remove] <CVE-YYYY-NNNN>")
		}
		arg, remove = req.Args[2], true
	}
	cve, err := bot.ParseCVE(arg)
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.AddCVE(ctx, req.Actor, req.Rule, id, cve, remove)
	if err != nil {
		return Reply{}, err
	}
	list := "none"
	if len(out.Incident.CVEs) > 0 {
		list = strings.Join(out.Incident.CVEs, ", ")
	}
	switch {
	case !out.Changed && remove:
		return same("%s does not list %s.", out.Incident.Name(), cve), nil
	case !out.Changed:
		return same("%s already lists %s.", out.Incident.Name(), cve), nil
	case remove:
		return ok("Removed %s from %s; CVEs: %s.", cve, out.Incident.Name(), list), nil
	}
	return ok("Recorded %s on %s; CVEs: %s.", cve, out.Incident.Name(), list), nil
}

// parseWhen reads a date in the actor's zone against the service clock.
func (h *handlers) parseWhen(req *Request, s string) (time.Time, error) {
	t, err := bot.ParseWhen(s, h.now().Now(), req.Actor.Location())
	if err != nil {
		return time.Time{}, invalid("%s.", err.Error())
	}
	return t, nil
}

func (h *handlers) embargo(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	var until time.Time
	if !strings.EqualFold(req.Args[1], "clear") {
		if until, err = h.parseWhen(req, req.Args[1]); err != nil {
			return Reply{}, err
		}
	}
	out, err := h.svc.SetEmbargo(ctx, req.Actor, req.Rule, id, until)
	if err != nil {
		return Reply{}, err
	}
	inc, now, loc := out.Incident, h.now().Now(), req.Actor.Location()
	if until.IsZero() {
		if !out.Changed {
			return same("%s has no embargo.", inc.Name()), nil
		}
		return ok("Cleared the embargo of %s.", inc.Name()), nil
	}
	r := ok("Embargo of %s lifts %s.", inc.Name(), when(until, now, loc))
	if limit := h.svc.Settings().Policy(inc.SIG).EmbargoMax; limit > 0 && until.Sub(now) > limit {
		r.Text.Plain(" Note: that is longer than " + bot.FormatDuration(limit) + ", the most the distros list accepts.")
	}
	return r, nil
}

func (h *handlers) due(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	var kind bot.DeadlineKind
	dateArg := req.Args[1]
	if len(req.Args) == 3 {
		k, ok := bot.ParseDeadlineKind(req.Args[1])
		if !ok {
			return Reply{}, invalid("Unknown deadline %q; deadlines: acknowledge, triage, fix, stale.", bot.EscapeControl(req.Args[1], false))
		}
		kind, dateArg = k, req.Args[2]
	}
	var at time.Time
	if !strings.EqualFold(dateArg, "default") {
		if at, err = h.parseWhen(req, dateArg); err != nil {
			return Reply{}, err
		}
	}
	out, err := h.svc.SetDue(ctx, req.Actor, req.Rule, id, kind, at)
	if err != nil {
		return Reply{}, err
	}
	if !out.Changed {
		return same("%s already follows the policy for that deadline.", out.Incident.Name()), nil
	}
	return ok("Deadline changed for %s: %s.", out.Incident.Name(), dueText(out.Incident, h.now().Now(), req.Actor.Location())), nil
}

func (h *handlers) note(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.AddNote(ctx, req.Actor, req.Rule, id, req.Rest(1))
	if err != nil {
		return Reply{}, err
	}
	return ok("Noted on %s.", out.Incident.Name()), nil
}

func (h *handlers) route(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.Route(ctx, req.Actor, req.Rule, id, req.Args[1])
	if err != nil {
		return Reply{}, err
	}
	if !out.Changed {
		return same("%s is already in SIG %s.", out.Incident.Name(), out.Incident.SIG), nil
	}
	who := "nobody (no one is on duty)"
	if out.Incident.Assignee != "" {
		who = out.Incident.Assignee
	}
	return ok("Routed %s from SIG %s to SIG %s; assigned to %s.", out.Incident.Name(), out.Before.SIG, out.Incident.SIG, who), nil
}
