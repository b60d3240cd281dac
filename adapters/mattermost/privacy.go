package mattermost

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// Before anything is posted in a channel, the channel is fetched: a team
// channel must be private, and before report content, every member must
// be a declared person, a trusted member or the bot. A channel failing
// that gets nothing; the officers are alerted once per condition.

// errNotPrivate is why a post was refused.
var errNotPrivate = errors.New("the channel is not verified private")

// verifyChannel fetches a channel and checks it may receive a post.
func (a *Adapter) verifyChannel(ctx context.Context, c *connection, channelID string, confidential bool) (*model.Channel, error) {
	cctx, cancel := a.call(ctx)
	defer cancel()
	ch, resp, err := a.client.GetChannel(cctx, channelID)
	if err := apiErr("checking channel "+channelID, resp, err); err != nil {
		if !transient(err) && a.watched(c, channelID) {
			var t bot.Text
			t.Plain(fmt.Sprintf("Mattermost: sectriage can no longer read its channel %s (HTTP %d): was the bot removed, or the channel archived? Nothing is posted there until this is fixed.", channelID, statusOf(err)))
			a.alarm(ctx, "mattermost-channel-gone|"+channelID, t)
		}
		return nil, err
	}
	switch ch.Type {
	case model.ChannelTypePrivate:
	case model.ChannelTypeDirect, model.ChannelTypeGroup:
		// Conversations of a few named users; the bot must be one of them.
		if ch.Type == model.ChannelTypeDirect && !strings.Contains(ch.Name, c.botID) {
			return nil, bot.Permanent(fmt.Errorf("direct channel %s is not the bot's: %w", ch.Id, errNotPrivate))
		}
		return ch, nil
	default:
		a.alarmPublic(ctx, ch)
		return nil, bot.Permanent(fmt.Errorf("channel ~%s is of type %s: %w", ch.Name, ch.Type, errNotPrivate))
	}
	if confidential {
		outsiders, err := a.outsiders(ctx, c, ch.Id)
		if err != nil {
			return nil, err
		}
		if len(outsiders) > 0 {
			a.alarmMembers(ctx, ch, outsiders)
			return nil, bot.Permanent(fmt.Errorf("channel ~%s has %d member(s) who are neither declared people nor trusted: %w", ch.Name, len(outsiders), errNotPrivate))
		}
	}
	return ch, nil
}

// outsiders returns the active members of a channel who are not the bot, a
// declared person or a trusted member.
func (a *Adapter) outsiders(ctx context.Context, c *connection, channelID string) ([]string, error) {
	cctx, cancel := a.call(ctx)
	defer cancel()
	var unknown []string
	const perPage = 200
	for page := 0; ; page++ {
		members, resp, err := a.client.GetChannelMembers(cctx, channelID, page, perPage, "")
		if err := apiErr("listing the members of "+channelID, resp, err); err != nil {
			return nil, err
		}
		for _, m := range members {
			if !a.allowedMember(c, m.UserId) {
				unknown = append(unknown, m.UserId)
			}
		}
		if len(members) < perPage {
			break
		}
	}
	if len(unknown) == 0 {
		return nil, nil
	}
	// Deactivated accounts stay members but can read nothing.
	users, resp, err := a.client.GetUsersByIds(cctx, unknown)
	if err := apiErr("looking up channel members", resp, err); err != nil {
		return nil, err
	}
	var active []string
	for _, u := range users {
		if u.DeleteAt == 0 {
			active = append(active, u.Username)
		}
	}
	return active, nil
}

func (a *Adapter) allowedMember(c *connection, userID string) bool {
	_, person := c.ids.byID[userID]
	return userID == c.botID || person || c.ids.trusted[userID]
}

// watched reports whether a channel is one sectriage posts incidents to.
func (a *Adapter) watched(c *connection, channelID string) bool {
	if channelID == c.triageID {
		return true
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	_, ok := a.incidents[channelID]
	return ok
}

// alarm logs a problem and alerts the officers, once per key. The text
// must carry no report content.
func (a *Adapter) alarm(ctx context.Context, key string, t bot.Text) {
	a.log.Error("alerting the officers", "key", key)
	if err := a.svc.AlertOfficers(ctx, key, t); err != nil {
		a.log.Error("could not queue the alert for the officers", "key", key, "err", err)
	}
}

func (a *Adapter) alarmPublic(ctx context.Context, ch *model.Channel) {
	var t bot.Text
	t.Plain("Mattermost: channel ").Untrusted("~" + ch.Name).Plain(fmt.Sprintf(
		" (%s) is no longer private (type %s). sectriage posts nothing there until it is private again; check who could read it.", ch.Id, ch.Type))
	// UpdateAt changes with the conversion: one alert per conversion.
	a.alarm(ctx, "mattermost-public|"+ch.Id+"|"+strconv.FormatInt(ch.UpdateAt, 10), t)
}

func (a *Adapter) alarmMembers(ctx context.Context, ch *model.Channel, usernames []string) {
	var t bot.Text
	t.Plain("Mattermost: channel ").Untrusted("~" + ch.Name).Plain(fmt.Sprintf(" (%s) has members who are not on the security team: ", ch.Id))
	t.Untrusted("@" + strings.Join(usernames, ", @"))
	t.Plain(". sectriage posts no report content there until they are removed (or listed in trusted_members).")
	day := a.svc.Clock().Now().UTC().Format("2006-01-02")
	a.alarm(ctx, "mattermost-members|"+ch.Id+"|"+strings.Join(usernames, ",")+"|"+day, t)
}

// onChannelEvent reacts to websocket events that change a watched
// channel's privacy or membership.
func (a *Adapter) onChannelEvent(ctx context.Context, c *connection, ev *model.WebSocketEvent) {
	data := ev.GetData()
	str := func(k string) string { s, _ := data[k].(string); return s }
	switch ev.EventType() {
	case model.WebsocketEventChannelConverted, model.WebsocketEventChannelDeleted:
		// channel_converted carries only the id: fetch the channel.
		if id := str("channel_id"); a.watched(c, id) {
			_, _ = a.verifyChannel(ctx, c, id, false)
		}
	case model.WebsocketEventChannelUpdated:
		var ch model.Channel
		if err := decodeJSONString(str("channel"), &ch); err == nil && a.watched(c, ch.Id) && ch.Type != model.ChannelTypePrivate {
			_, _ = a.verifyChannel(ctx, c, ch.Id, false)
		}
	case model.WebsocketEventUserAdded:
		id := ev.GetBroadcast().ChannelId
		if a.watched(c, id) && !a.allowedMember(c, str("user_id")) {
			_, _ = a.verifyChannel(ctx, c, id, true)
		}
	case model.WebsocketEventUserRemoved:
		// Sent twice: to the channel (user_id in data) and to the removed
		// user (channel_id in data). Only the bot's own removal matters.
		id, user := ev.GetBroadcast().ChannelId, str("user_id")
		if id == "" {
			id, user = str("channel_id"), ev.GetBroadcast().UserId
		}
		if user == c.botID && a.watched(c, id) {
			var t bot.Text
			t.Plain(fmt.Sprintf("Mattermost: the bot was removed from its channel %s; nothing can be posted there until it is added back.", id))
			a.alarm(ctx, "mattermost-removed|"+id+"|"+a.svc.Clock().Now().UTC().Format("2006-01-02"), t)
		}
	}
}

// recheckChannels verifies every watched channel after a reconnect: events
// missed while disconnected (a conversion to public) show up here.
func (a *Adapter) recheckChannels(ctx context.Context, c *connection) {
	ids := []string{c.triageID}
	a.mu.RLock()
	for id := range a.incidents {
		ids = append(ids, id)
	}
	a.mu.RUnlock()
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if _, err := a.verifyChannel(ctx, c, id, false); err != nil && errors.Is(err, errNotPrivate) {
			a.log.Error("a watched channel is not private", "channel", id)
		}
	}
}
