package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// The advisory draft takes its text from the incident's discussion: what
// the team worked out in its channels is listed numbered (advisory <id>
// discussion) and one message is copied into a field (advisory <id> set
// <field> from <n>), through the same edit as typed text, so approvals
// are withdrawn and the timeline says where the text came from.

// advisoryDiscussion lists the discussion, numbered for `set … from <n>`.
func (h *handlers) advisoryDiscussion(ctx context.Context, req *Request, id int64) (Reply, error) {
	inc, events, err := h.svc.Timeline(ctx, req.Actor, id)
	if err != nil {
		return Reply{}, err
	}
	reply, err := discussion(req, inc, events)
	if err != nil || len(bot.Discussion(events)) == 0 {
		return reply, err
	}
	reply.Text.Line().Plain(fmt.Sprintf("Copy one into the draft: advisory %d set <field> from <number>.", inc.ID))
	return reply, nil
}

// quotedField reads `set <field> from <n>`: ok is false for any other set
// (a text that is only the words "from 3" is typed in quotes).
func quotedField(req *Request) (field string, n int, ok bool) {
	if len(req.Args) != 5 || !strings.EqualFold(req.Args[1], "set") || !strings.EqualFold(req.Args[3], "from") {
		return "", 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(req.Args[4], "#"))
	if err != nil {
		return "", 0, false
	}
	return strings.ToLower(req.Args[2]), n, true
}

// discussionMessage is the text of discussion message n (1 is the first),
// as `advisory <id> discussion` numbers them.
func (h *handlers) discussionMessage(ctx context.Context, req *Request, id int64, n int) (string, error) {
	inc, events, err := h.svc.Timeline(ctx, req.Actor, id)
	if err != nil {
		return "", err
	}
	said := bot.Discussion(events)
	if n < 1 || n > len(said) {
		if len(said) == 0 {
			return "", invalid("Nothing was said in %s's channels yet.", inc.Name())
		}
		return "", invalid("%s's discussion has messages 1 to %d; list them with advisory %d discussion.", inc.Name(), len(said), inc.ID)
	}
	text, ok := bot.DiscussionText(said[n-1])
	if !ok {
		return "", invalid("Message %d of %s's discussion says only that a message was deleted.", n, inc.Name())
	}
	return text, nil
}
