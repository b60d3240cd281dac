package mattermost

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// channelPost sends the bot a "posted" event for a post in a private
// channel, as the server does.
func channelPost(f *fake, from, channelID, rootID, message string) *model.Post {
	p := &model.Post{Id: model.NewId(), UserId: from, ChannelId: channelID, RootId: rootID, Message: message, CreateAt: model.GetMillis()}
	b, _ := json.Marshal(p)
	ev := model.NewWebSocketEvent(model.WebsocketEventPosted, "", channelID, "", nil, "")
	ev.Add("post", string(b))
	ev.Add("channel_type", string(model.ChannelTypePrivate))
	f.send(ev)
	return p
}

// TestFakeIncidentChannelIsTheRecord: posts in an incident's channel go
// into its timeline (a thread reply marked as such, the bot's own posts
// and strangers' not), once even when seen twice; "!severity high" and
// "/sec show discussion" typed there act on that incident.
func TestFakeIncidentChannelIsTheRecord(t *testing.T) {
	w := newFakeWorld(t, func(o *Options) { o.ChannelPerIncident = true })
	w.ready(t)
	inc := w.c.open(t, "Title")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	ctx := context.Background()
	ch, err := w.c.db.MattermostIncidentChannel(ctx, inc.ID)
	if err != nil || ch == "" {
		t.Fatalf("incident channel %q, %v", ch, err)
	}
	stranger := w.f.addUser("mallory", false)
	first := channelPost(w.f, w.alice, ch, "", "I can reproduce it on 2.4 @channel")
	channelPost(w.f, w.bob, ch, first.Id, "same here")
	channelPost(w.f, w.f.botID, ch, "", "the bot's own post")
	channelPost(w.f, stranger, ch, "", "a stranger's post")
	said := waitDiscussion(t, w, inc.ID, 2)
	// The same post again, as a catch-up after a reconnect would see it.
	// Production takes catch-up posts on the session's goroutine, in order;
	// here it comes once the live copy is recorded, and must add nothing.
	w.a.takePost(ctx, mustConn(t, w.a), first, model.ChannelTypePrivate)
	channelPost(w.f, w.alice, ch, "", "!severity high")
	w.f.waitPost(t, ch, "high")
	if got := w.c.incident(t, inc.ID).Severity; got != bot.SeverityHigh {
		t.Fatalf("severity %s after !severity high in its channel", got)
	}
	if again := waitDiscussion(t, w, inc.ID, 2); len(again) != len(said) {
		t.Fatalf("a post taken twice is recorded twice: %+v", again)
	}
	if len(said) != 2 || said[0].Actor != "alice" || said[0].Details != "I can reproduce it on 2.4 @channel" ||
		said[1].Actor != "bob" || said[1].Details != "(in a thread) same here" || said[0].Platform != bot.PlatformMattermost {
		t.Fatalf("discussion: %+v", said)
	}

	form := w.slashForm(w.alice, "show discussion")
	form.Set("channel_id", ch)
	_, resp := w.slash(t, form, "")
	if resp == nil || !strings.Contains(resp.Text, "I can reproduce it on 2.4") || strings.Contains(resp.Text, "stranger") {
		t.Fatalf("show discussion in the incident channel: %+v", resp)
	}
}

// waitDiscussion waits until incident id's record holds at least n
// discussion entries (5 s at most) and returns them all.
func waitDiscussion(t *testing.T, w *fakeWorld, id int64, n int) []bot.Event {
	t.Helper()
	ctx := context.Background()
	alice := bot.Actor{Person: w.c.svc.Settings().People.ByName("alice"), Platform: bot.PlatformMattermost}
	var said []bot.Event
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, events, err := w.c.svc.Timeline(ctx, alice, id)
		if err != nil {
			t.Fatal(err)
		}
		if said = bot.Discussion(events); len(said) >= n {
			break
		}
	}
	return said
}

func mustConn(t *testing.T, a *Adapter) *connection {
	t.Helper()
	c, err := a.current()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// postChange sends a "post_edited" or "post_deleted" event.
func postChange(f *fake, event string, p *model.Post) {
	b, _ := json.Marshal(p)
	ev := model.NewWebSocketEvent(model.WebsocketEventType(event), "", p.ChannelId, "", nil, "")
	ev.Add("post", string(b))
	f.send(ev)
}

// TestFakeBridgeRelaysToIRC: with both platforms bridged, a post in the
// incident channel is relayed to IRC as "name (mattermost): text", a
// thread reply, an edit and a deletion as such, and the bot's own posts
// (the relays from IRC) are not relayed back.
func TestFakeBridgeRelaysToIRC(t *testing.T) {
	relays := make(chan string, 10)
	w := newFakeWorld(t, func(o *Options) { o.ChannelPerIncident = true }, func(w *fakeWorld) {
		w.c.outbox.Register(bot.PlatformIRC, bot.DeliverFunc(func(ctx context.Context, m bot.OutboxMessage) error {
			if m.Kind == bot.MessageRelay {
				relays <- bot.RenderPlain(m.Text)
			}
			return nil
		}))
	})
	st := *w.c.svc.Settings()
	st.Platforms = []string{bot.PlatformMattermost, bot.PlatformIRC}
	st.Bridge = []string{bot.PlatformMattermost, bot.PlatformIRC}
	w.c.svc.SetSettings(&st)
	w.ready(t)
	inc := w.c.open(t, "Title")
	w.c.waitDelivered(t, bot.MessageNewIncident, func(d bot.Destination) bool { return d.Platform == bot.PlatformMattermost })
	ch, err := w.c.db.MattermostIncidentChannel(context.Background(), inc.ID)
	if err != nil || ch == "" {
		t.Fatalf("incident channel %q, %v", ch, err)
	}
	p := channelPost(w.f, w.alice, ch, "", "patch attached @channel")
	channelPost(w.f, w.bob, ch, p.Id, "looks good")
	channelPost(w.f, w.f.botID, ch, "", "carol (irc): a relayed line")
	p.Message, p.EditAt = "patch v2 attached", model.GetMillis()
	postChange(w.f, string(model.WebsocketEventPostEdited), p)
	postChange(w.f, string(model.WebsocketEventPostDeleted), p)
	for _, want := range []string{
		"alice (mattermost): patch attached @channel",
		"bob (mattermost, in a thread): looks good",
		"alice (mattermost, edited): patch v2 attached",
		"alice (mattermost, deleted a message)",
	} {
		select {
		case got := <-relays:
			if got != want {
				t.Errorf("relayed %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no relay of %q", want)
		}
	}
	select {
	case got := <-relays:
		t.Errorf("relayed %q too: the bot's own post came back", got)
	case <-time.After(300 * time.Millisecond):
	}
}
