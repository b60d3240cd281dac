package commands

import (
	"context"
)

func (h *handlers) reply(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.ReplyToReporter(ctx, req.Actor, req.Rule, id, req.Rest(1))
	if err != nil {
		return Reply{}, err
	}
	return ok("Mail to the reporter of %s queued; it is encrypted when their key is known.", out.Incident.Name()), nil
}
