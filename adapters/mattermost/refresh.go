package mattermost

import (
	"context"
	"strings"

	"github.com/sectriage/sectriage/commands"
)

// refreshAfter refreshes the posts of the incident a command was about,
// unless the command cannot have changed it: it failed, only reads
// ("show 42"), or said it changed nothing (a claim of what one holds
// already). A post update costs Mattermost more than the command's answer
// (it is broadcast to the channel), and every command paid for one.
func (a *Adapter) refreshAfter(ctx context.Context, line string, id int64, reply commands.Reply) {
	name, _, _ := strings.Cut(line, " ")
	if reply.Failed || reply.Unchanged || readOnly[strings.ToLower(name)] {
		return
	}
	if id == 0 {
		var ok bool
		if id, ok = incidentArg(line); !ok {
			return
		}
	}
	a.refreshIncidentPosts(ctx, id)
}
