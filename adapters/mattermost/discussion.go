package mattermost

import (
	"context"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// What is said in an incident's own channel is kept in the incident's
// timeline (bot.EventDiscussion), like on IRC; "!ack" typed there acts on
// that incident, as "/sec ack" does (slash.go). Posts are claimed by id
// first, so one seen live and again by a catch-up is kept once.

// incidentOf returns the incident whose own channel this is, or 0.
func (a *Adapter) incidentOf(channelID string) int64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.incidents[channelID]
}

// takeIncidentPost records a post of an incident's channel, or runs it
// when it is a "!" command. Only declared people are recorded: anyone
// else in the channel makes it fail the privacy rule.
func (a *Adapter) takeIncidentPost(ctx context.Context, c *connection, post *model.Post, id int64) bool {
	person := a.person(c, post.UserId)
	if person == nil || strings.TrimSpace(post.Message) == "" {
		return false
	}
	fresh, err := a.store.ClaimMattermostPost(ctx, post.Id, post.ChannelId, time.UnixMilli(post.CreateAt))
	if err != nil || !fresh {
		if err != nil {
			a.log.Error("cannot record a post of an incident channel as taken", "err", err)
		}
		return false
	}
	actor := bot.Actor{Person: person, Platform: bot.PlatformMattermost}
	if line, isCmd := commands.Normalize(post.Message, "!"); isCmd && line != "" {
		channelID := post.ChannelId
		a.goBackground(func() { a.runInIncidentChannel(ctx, c, actor, channelID, a.runner.ForIncident(line, id), id) })
		return true
	}
	a.discuss(ctx, c, actor, id, post, bot.Said{Text: post.Message})
	return true
}

// discuss records a post (or its edit, or its deletion) and relays it
// when the channel passes the privacy rule now: an outsider in it stops
// the relay (verifyChannel alerts the officers).
func (a *Adapter) discuss(ctx context.Context, c *connection, actor bot.Actor, id int64, post *model.Post, said bot.Said) {
	said.Thread = post.RootId != ""
	// Called on the websocket session's goroutine (posts and their edits
	// are recorded in the order they came): no kept verdict here.
	_, err := a.verifyChannelNow(ctx, c, post.ChannelId, true)
	said.Relay = err == nil
	if err := a.svc.Discuss(ctx, actor, id, said); err != nil {
		a.log.Error("could not record a post of an incident channel", "incident", id, "err_kind", bot.KindOf(err))
	}
}

// onPostChanged takes an edit or a deletion in an incident channel: kept
// in the record and relayed as such.
func (a *Adapter) onPostChanged(ctx context.Context, c *connection, ev *model.WebSocketEvent) {
	var post model.Post
	if err := decodeJSONString(ev.GetData()["post"], &post); err != nil {
		return
	}
	id := a.incidentOf(post.ChannelId)
	if id == 0 || post.UserId == c.botID || post.Type != "" || post.GetProp(model.PostPropsFromBot) == "true" {
		return
	}
	person := a.person(c, post.UserId)
	if person == nil {
		return
	}
	actor := bot.Actor{Person: person, Platform: bot.PlatformMattermost}
	if ev.EventType() == model.WebsocketEventPostDeleted {
		a.discuss(ctx, c, actor, id, &post, bot.Said{Deleted: true})
		return
	}
	if _, isCmd := commands.Normalize(post.Message, "!"); isCmd {
		return // an edited command is not run again, nor relayed
	}
	a.discuss(ctx, c, actor, id, &post, bot.Said{Text: post.Message, Edited: true})
}

// runInIncidentChannel answers a "!" command in the channel it was typed
// in, if the channel still passes the privacy rule.
func (a *Adapter) runInIncidentChannel(ctx context.Context, c *connection, actor bot.Actor, channelID, line string, id int64) {
	reply := a.runner.Run(ctx, actor, line, true)
	if _, err := a.verifyChannel(ctx, c, channelID, true); err != nil {
		a.log.Warn("cannot answer a command in an incident channel", "err", err)
		return
	}
	m := bot.OutboxMessage{Text: reply.Text, Confidential: reply.Confidential}
	if err := a.postText(ctx, c, m, channelID, reply.Text, 0, ""); err != nil {
		a.log.Warn("cannot answer a command in an incident channel", "err", err)
	}
	a.refreshAfter(ctx, line, id, reply)
}
