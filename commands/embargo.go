package commands

import (
	"context"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// embargoHelp explains the flag on the commands that disclose.
const embargoHelp = "While an embargo runs, it is refused unless --before-embargo is given: " +
	"the reporter and everyone told under the embargo rely on it. The timeline records an early disclosure."

// takeFlag removes every word equal to flag (any case) from the request's
// arguments and reports whether there was one.
func takeFlag(req *Request, flag string) bool {
	found := false
	args := req.Args[:0:0]
	for _, a := range req.Args {
		if strings.EqualFold(a, flag) {
			found = true
			continue
		}
		args = append(args, a)
	}
	req.Args = args
	return found
}

// checkEmbargo applies bot.CheckDisclosure to a move of incident id to
// disclosed, whichever command makes it (fixed, disclose, state). It
// returns note with the early disclosure recorded in front.
func (h *handlers) checkEmbargo(ctx context.Context, req *Request, id int64, deliberate bool, note string) (string, error) {
	inc, err := h.svc.Get(ctx, req.Actor, id)
	if err != nil {
		return "", err
	}
	now := h.now().Now()
	if err := bot.CheckDisclosure(inc, now, deliberate, req.Actor.Location()); err != nil {
		return "", err
	}
	if early := bot.DisclosureNote(inc, now); early != "" {
		if note == "" {
			return early, nil
		}
		return early + ": " + note, nil
	}
	return note, nil
}
