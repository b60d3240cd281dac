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

// Before anything is posted in a channel, the channel is fetched and
// described to the privacy rule (bot.MayReceive): a team channel must be
// private, a direct or group channel must include the bot, and every
// member, in all three, must be a declared person, a trusted member or
// the bot. A channel failing that gets nothing about incidents: the
// message is held until it is fixed, and the officers are alerted once per
// problem.

// errNotPrivate is why a post was refused.
var errNotPrivate = errors.New("the channel is not verified private")

// verifyChannel checks a channel may receive a post. With sensitive
// (anything about an incident, report content or not) the whole rule
// applies; without it (a non-confidential answer in a direct channel to
// whoever asked) only that the channel is the bot's and closed. A passing
// verdict the websocket shows to still hold is reused (verdicts.go);
// otherwise the channel is fetched and judged again.
func (a *Adapter) verifyChannel(ctx context.Context, c *connection, channelID string, sensitive bool) (*model.Channel, error) {
	return a.verifyChannelAsOf(ctx, c, channelID, sensitive, a.fences.mark())
}

// verifyChannelAsOf is verifyChannel proven as of since, a fences.mark
// taken earlier (a slash request's arrival): a kept verdict needs only a
// barrier begun after it, which may have come back already.
func (a *Adapter) verifyChannelAsOf(ctx context.Context, c *connection, channelID string, sensitive bool, since uint64) (*model.Channel, error) {
	k := verdictKey{channel: channelID, sensitive: sensitive}
	if ch := a.cachedVerdict(ctx, c, k, since); ch != nil {
		return ch, nil
	}
	return a.verifyChannelNow(ctx, c, channelID, sensitive)
}

// verifyChannelNow is verifyChannel without a kept verdict: it always
// asks REST (and keeps a passing verdict for others). The websocket
// session's own goroutine must use it: a kept verdict waits for a
// barrier's event that this goroutine takes (barrier.go), so it would
// wait for itself until the call timed out.
func (a *Adapter) verifyChannelNow(ctx context.Context, c *connection, channelID string, sensitive bool) (*model.Channel, error) {
	k := verdictKey{channel: channelID, sensitive: sensitive}
	stamp := a.verdicts.stamp()
	ch, err := a.checkChannel(ctx, c, channelID, sensitive)
	if err == nil {
		a.verdicts.store(k, stamp, c, ch)
	}
	return ch, err
}

// checkChannel fetches a channel and its members and asks the rule.
func (a *Adapter) checkChannel(ctx context.Context, c *connection, channelID string, sensitive bool) (*model.Channel, error) {
	cctx, cancel := a.call(ctx)
	defer cancel()
	ch, resp, err := a.client.GetChannel(cctx, channelID)
	if err := apiErr("checking channel "+channelID, resp, err); err != nil {
		if !transient(err) && a.watched(c, channelID) {
			var t bot.Text
			t.Plain(fmt.Sprintf("Mattermost: sectriage can no longer read its channel %s (HTTP %d): was the bot removed, or the channel archived? Nothing is posted there until this is fixed.", channelID, statusOf(err)))
			a.alarm(ctx, "mattermost-channel-gone|"+channelID, t)
			// Held, not dropped: adding the bot back delivers it.
			v := bot.MayReceive(bot.PlaceFacts{Platform: bot.PlatformMattermost, Name: channelID, Kind: bot.PlaceChannel,
				Closure: fmt.Sprintf("the bot cannot read it: HTTP %d", statusOf(err))})
			return nil, fmt.Errorf("%w (%w)", bot.Hold(v), errNotPrivate)
		}
		return nil, err
	}
	if !sensitive {
		f := a.closure(c, ch)
		if !f.Private {
			if ch.Type == model.ChannelTypeOpen {
				a.alarmPublic(ctx, ch)
			}
			return nil, fmt.Errorf("%w (%w)", bot.Hold(bot.MayReceive(f)), errNotPrivate)
		}
		return ch, nil
	}
	f, err := a.placeFacts(ctx, c, ch)
	if err != nil {
		return nil, err
	}
	if v := bot.MayReceive(f); !v.OK {
		if ch.Type == model.ChannelTypeOpen {
			a.alarmPublic(ctx, ch)
		} else {
			key, text := bot.PrivacyAlert(v, a.svc.Clock().Now())
			a.alarm(ctx, key, text)
		}
		return nil, fmt.Errorf("%w (%w)", bot.Hold(v), errNotPrivate)
	}
	return ch, nil
}

// closure describes a channel's type for the rule, members aside.
func (a *Adapter) closure(c *connection, ch *model.Channel) bot.PlaceFacts {
	f := bot.PlaceFacts{Platform: bot.PlatformMattermost, Name: "~" + ch.Name, Kind: bot.PlaceChannel,
		Closure: "type " + string(ch.Type)}
	switch ch.Type {
	case model.ChannelTypePrivate:
		f.Private = true
	case model.ChannelTypeGroup:
		f.Kind, f.Private, f.Name = bot.PlaceGroup, true, "group "+ch.Id
	case model.ChannelTypeDirect:
		// A direct channel's name holds both user ids: the bot must be one.
		f.Kind, f.Name = bot.PlaceDirect, "direct "+ch.Id
		f.Private = strings.Contains(ch.Name, c.botID)
		if !f.Private {
			f.Closure = "a direct channel that is not the bot's"
		}
	case model.ChannelTypeOpen:
		f.Closure = "type O, public"
	}
	return f
}

// placeFacts describes a channel and its members for the rule.
// Deactivated accounts stay members but can read nothing: they are left
// out.
func (a *Adapter) placeFacts(ctx context.Context, c *connection, ch *model.Channel) (bot.PlaceFacts, error) {
	f := a.closure(c, ch)
	if !f.Private {
		return f, nil
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	var others []string
	const perPage = 200
	for page := 0; ; page++ {
		members, resp, err := a.client.GetChannelMembers(cctx, ch.Id, page, perPage, "")
		if err := apiErr("listing the members of "+ch.Id, resp, err); err != nil {
			return f, err
		}
		for _, m := range members {
			switch {
			case m.UserId == c.botID:
				f.Members = append(f.Members, bot.PlaceMember{Name: c.botName, Status: bot.MemberBot})
			case c.ids.byID[m.UserId] != "":
				f.Members = append(f.Members, bot.PlaceMember{Name: c.ids.byID[m.UserId], Status: bot.MemberPerson})
			case c.ids.trusted[m.UserId]:
				f.Members = append(f.Members, bot.PlaceMember{Name: c.ids.username[m.UserId], Status: bot.MemberTrusted})
			default:
				others = append(others, m.UserId)
			}
		}
		if len(members) < perPage {
			break
		}
	}
	if len(others) > 0 {
		users, resp, err := a.client.GetUsersByIds(cctx, others)
		if err := apiErr("looking up channel members", resp, err); err != nil {
			return f, err
		}
		for _, u := range users {
			if u.DeleteAt == 0 {
				f.Members = append(f.Members, bot.PlaceMember{Name: "@" + u.Username, Status: bot.MemberOutsider})
			}
		}
	}
	f.MembersKnown = true
	return f, nil
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
// must carry no report content. Every held message meets its problem
// again on each retry: only the first is logged and queued (the outbox
// deduplicates across processes too).
func (a *Adapter) alarm(ctx context.Context, key string, t bot.Text) {
	if _, seen := a.alerted.LoadOrStore(key, true); seen {
		return
	}
	a.log.Error("alerting the officers", "key", key)
	if err := a.svc.AlertOfficers(ctx, key, t); err != nil {
		a.log.Error("could not queue the alert for the officers", "key", key, "err", err)
		a.alerted.Delete(key) // the next failure tries again
	}
}

func (a *Adapter) alarmPublic(ctx context.Context, ch *model.Channel) {
	var t bot.Text
	t.Plain("Mattermost: channel ").Untrusted("~" + ch.Name).Plain(fmt.Sprintf(
		" (%s) is no longer private (type %s). sectriage posts nothing there until it is private again; check who could read it.", ch.Id, ch.Type))
	// UpdateAt changes with the conversion: one alert per conversion.
	a.alarm(ctx, "mattermost-public|"+ch.Id+"|"+strconv.FormatInt(ch.UpdateAt, 10), t)
}

// onChannelEvent reacts to websocket events that change the privacy or
// membership of a channel sectriage posts to: the rule is asked again,
// which alerts the officers when the channel fails it and, when it
// passes, releases the held messages (they may have been held for it).
func (a *Adapter) onChannelEvent(ctx context.Context, c *connection, ev *model.WebSocketEvent) {
	data := ev.GetData()
	str := func(k string) string { s, _ := data[k].(string); return s }
	id := ""
	switch ev.EventType() {
	case model.WebsocketEventChannelConverted, model.WebsocketEventChannelDeleted:
		// channel_converted carries only the id: fetch the channel.
		id = str("channel_id")
	case model.WebsocketEventChannelUpdated:
		var ch model.Channel
		if err := decodeJSONString(str("channel"), &ch); err == nil {
			id = ch.Id
		}
	case model.WebsocketEventUserAdded:
		id = ev.GetBroadcast().ChannelId
	case model.WebsocketEventUserRemoved:
		// Sent twice: to the channel (user_id in data) and to the removed
		// user (channel_id in data).
		user := str("user_id")
		if id = ev.GetBroadcast().ChannelId; id == "" {
			id, user = str("channel_id"), ev.GetBroadcast().UserId
		}
		if user == c.botID {
			if a.watched(c, id) {
				var t bot.Text
				t.Plain(fmt.Sprintf("Mattermost: the bot was removed from its channel %s; nothing can be posted there until it is added back.", id))
				a.alarm(ctx, "mattermost-removed|"+id+"|"+a.svc.Clock().Now().UTC().Format("2006-01-02"), t)
			}
			return
		}
	}
	// Only sectriage's channels get its messages: others (a public
	// channel the bot happens to be in) are none of its business.
	if id == "" || !a.watched(c, id) {
		return
	}
	if _, err := a.verifyChannel(ctx, c, id, true); err == nil {
		a.releaseHeld(ctx)
	}
}

// Releaser is the part of the outbox that retries held messages; the
// daemon's *bot.Outbox is one.
type Releaser interface {
	Release(ctx context.Context, platform string) error
}

// SetOutbox lets the adapter release held messages when a channel
// changes. Call it before Run; without it, held messages wait for the
// outbox's own retry (HeldRetry).
func (a *Adapter) SetOutbox(r Releaser) { a.outbox = r }

func (a *Adapter) releaseHeld(ctx context.Context) {
	if a.outbox == nil {
		return
	}
	if err := a.outbox.Release(ctx, bot.PlatformMattermost); err != nil {
		a.log.Warn("could not release held messages", "err", err)
	}
}

// recheckChannels verifies every watched channel after a reconnect: events
// missed while disconnected (a conversion to public, an outsider added)
// show up here.
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
		if _, err := a.verifyChannel(ctx, c, id, true); err != nil && errors.Is(err, errNotPrivate) {
			a.log.Error("a watched channel fails the privacy rule", "channel", id, "err", err)
		}
	}
	// What was fixed while we were away: its held messages go out.
	a.releaseHeld(ctx)
}
