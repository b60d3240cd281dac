package mattermost

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// TestFakeIncidentChannelPostsBeforeItsPeople: a new incident's channel is
// made with the bot alone in it, the incident's post goes in first, and
// its people are added after, in one call (so the post waits for no one);
// while adding them fails, the new-incident message is retried and adds
// them, without posting again.
func TestFakeIncidentChannelPostsBeforeItsPeople(t *testing.T) {
	w := newFakeWorld(t, func(o *Options) { o.ChannelPerIncident = true })
	w.ready(t)
	w.f.mu.Lock()
	w.f.failAdds = 2
	w.f.mu.Unlock()
	inc := w.c.open(t, "Title")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	ch, err := w.c.db.MattermostIncidentChannel(context.Background(), inc.ID)
	if err != nil || ch == "" {
		t.Fatalf("incident channel %q, %v", ch, err)
	}
	c := mustConn(t, w.a)
	want := []string{w.f.botID}
	for _, person := range channelPeople(w.c.svc.Settings(), inc) {
		if id := c.ids.byPerson[strings.ToLower(person)]; id != "" && !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	if len(want) < 3 {
		t.Fatalf("the incident has %d people with accounts; the test needs two", len(want)-1)
	}
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	var posts []string
	for _, id := range w.f.order {
		if w.f.posts[id].ChannelId == ch {
			posts = append(posts, id)
		}
	}
	if len(posts) != 1 {
		t.Fatalf("%d posts in the incident's channel, want its one post (not posted again on retry)", len(posts))
	}
	if n := w.f.membersAt[posts[0]]; n != 1 {
		t.Errorf("the incident's post was made with %d members in its channel, want the bot alone", n)
	}
	var got []string
	for id := range w.f.channels[ch].members {
		got = append(got, id)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("channel members %v, want the bot and the incident's people %v", got, want)
	}
	if w.f.adds != 3 {
		t.Errorf("%d calls adding members, want 3 (two failed, then all in one)", w.f.adds)
	}
}
