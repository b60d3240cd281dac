package mattermost

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// Catching up. A direct message sent while the websocket was away (a
// server restart, a network cut, the daemon stopped) never comes as an
// event: the server replays events only to a connection it resumes. So on
// every new connection the bot fetches the direct messages posted since
// the newest one it took, and takes each one it has not taken yet, by the
// same path as a live one (takePost: the same filters, the same identity
// and authorisation). Posts are claimed by id in the database before they
// run, so each runs once, whichever way it came and across restarts.

// catchUpWindow bounds how far back a catch-up looks: a command left
// unanswered for longer is stale (the asker has moved on, or asked again).
const catchUpWindow = 24 * time.Hour

// PostStore is what catching up keeps in the database (storage.DB).
type PostStore interface {
	// ClaimMattermostPost reports whether the post was not taken before,
	// and records it as taken.
	ClaimMattermostPost(ctx context.Context, postID, channelID string, created time.Time) (bool, error)
	// MattermostLastSeenPost is the create time of the newest post taken.
	MattermostLastSeenPost(ctx context.Context) (time.Time, error)
	// PruneMattermostSeenPosts forgets posts created before a time.
	PruneMattermostSeenPosts(ctx context.Context, before time.Time) error
}

// catchUp takes the direct messages to the bot that were posted since the
// newest one taken (at most catchUpWindow ago) and not taken yet.
func (a *Adapter) catchUp(ctx context.Context, c *connection) {
	now := a.svc.Clock().Now()
	since, err := a.store.MattermostLastSeenPost(ctx)
	if err != nil {
		a.log.Error("catch-up: cannot read where the last one stopped", "err", err)
		return
	}
	if oldest := now.Add(-catchUpWindow); since.Before(oldest) {
		since = oldest
	}
	cctx, cancel := a.call(ctx)
	channels, resp, err := a.client.GetChannelsForUserWithLastDeleteAt(cctx, c.botID, 0)
	cancel()
	if err := apiErr("listing the bot's channels", resp, err); err != nil {
		a.log.Warn("catch-up: cannot list direct channels; messages sent while disconnected stay unanswered", "err", err)
		return
	}
	var missed []*model.Post
	types := map[string]model.ChannelType{}
	for _, ch := range channels {
		// Direct messages, and what was said in incident channels (for
		// the record).
		incident := ch.Type == model.ChannelTypePrivate && a.incidentOf(ch.Id) != 0
		if ch.Type != model.ChannelTypeDirect && !incident || ch.LastPostAt < since.UnixMilli() {
			continue
		}
		cctx, cancel := a.call(ctx)
		// Posts changed since then, which includes every post made since.
		list, resp, err := a.client.GetPostsSince(cctx, ch.Id, since.UnixMilli()-1, false)
		cancel()
		if err := apiErr("reading a direct channel", resp, err); err != nil {
			a.log.Warn("catch-up: cannot read a direct channel", "channel", ch.Id, "err", err)
			continue
		}
		for _, p := range list.Posts {
			if p.CreateAt >= since.UnixMilli() && p.DeleteAt == 0 {
				missed = append(missed, p)
				types[p.ChannelId] = ch.Type
			}
		}
	}
	slices.SortFunc(missed, func(x, y *model.Post) int { return cmp.Compare(x.CreateAt, y.CreateAt) })
	taken := 0
	for _, p := range missed {
		if a.takePost(ctx, c, p, types[p.ChannelId]) {
			taken++
		}
	}
	if taken > 0 {
		a.log.Info("caught up on direct messages sent while disconnected", "taken", taken, "since", since)
	}
	if err := a.store.PruneMattermostSeenPosts(ctx, now.Add(-catchUpWindow)); err != nil {
		a.log.Warn("catch-up: cannot prune the posts taken", "err", err)
	}
}
