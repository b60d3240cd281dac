package mattermost

import (
	"context"
	"reflect"
	"strings"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// An incident's posts are refreshed after a command only when the command
// changed the incident: an update costs Mattermost more than the answer
// itself (a post update is broadcast to the whole channel), and "show 42",
// or a claim of what one holds already, changed nothing to show.

// incidentState is an incident as it was before a command ran.
type incidentState struct {
	id  int64         // 0: the command is about no incident, or only reads
	inc *bot.Incident // nil: it could not be read; refresh if the command succeeded
}

// before reads the incident a command line is about, before it runs.
func (a *Adapter) before(ctx context.Context, line string) incidentState {
	name, _, _ := strings.Cut(line, " ")
	if readOnly[strings.ToLower(name)] {
		return incidentState{}
	}
	id, ok := incidentArg(line)
	if !ok {
		return incidentState{}
	}
	return a.beforeIncident(ctx, id)
}

func (a *Adapter) beforeIncident(ctx context.Context, id int64) incidentState {
	inc, err := a.store.Incident(ctx, id)
	if err != nil {
		return incidentState{id: id}
	}
	return incidentState{id: id, inc: inc}
}

// refreshIfChanged refreshes the incident's posts if the command changed it.
func (a *Adapter) refreshIfChanged(ctx context.Context, s incidentState, reply commands.Reply) {
	if s.id == 0 {
		return
	}
	if s.inc == nil {
		if !reply.Failed {
			a.refreshIncidentPosts(ctx, s.id)
		}
		return
	}
	now, err := a.store.Incident(ctx, s.id)
	if err == nil && reflect.DeepEqual(now, s.inc) {
		return
	}
	a.refreshIncidentPosts(ctx, s.id)
}
