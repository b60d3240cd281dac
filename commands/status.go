package commands

import (
	"context"
	"strings"
)

// statusRevoke is `status revoke <id>`: the reporter's status links stop
// working at once.
func (h *handlers) statusRevoke(ctx context.Context, req *Request) (Reply, error) {
	if !strings.EqualFold(req.Args[0], "revoke") {
		return Reply{}, invalid("Usage: status revoke <id>.")
	}
	id, err := incidentArg(req, 1)
	if err != nil {
		return Reply{}, err
	}
	n, out, err := h.svc.RevokeStatus(ctx, req.Actor, req.Rule, h.status, id)
	if err != nil {
		return Reply{}, err
	}
	if n == 0 {
		return ok("%s had no live status link; none will work from now on.", out.Incident.Name()), nil
	}
	return ok("Revoked %d status link(s) of %s; the reporter's old link shows nothing any more.", n, out.Incident.Name()), nil
}
