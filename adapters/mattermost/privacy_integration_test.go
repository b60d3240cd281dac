package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
)

func isOfficer(name string) func(bot.Destination) bool {
	return func(d bot.Destination) bool { return d.Person == name }
}

// alertFor waits for an alert to alice delivered as a direct message and
// returns its text.
func (w *world) alertFor(t testing.TB, ws *mmserver.WebSocket, contains string) string {
	t.Helper()
	ev := ws.WaitFor(t, waitLong, func(ev *model.WebSocketEvent) bool {
		if ev.EventType() != model.WebsocketEventPosted || ev.GetData()["channel_type"] != string(model.ChannelTypeDirect) {
			return false
		}
		return strings.Contains(mmserver.PostOf(t, ev).Message, contains)
	})
	return mmserver.PostOf(t, ev).Message
}

func TestPublicTriageChannelGetsNoReport(t *testing.T) {
	w := newWorld(t, worldOptions{publicTriage: true})
	inc := w.c.open(t, "Secret vulnerability title")
	a := w.c.waitAttempt(t, "the new-incident post", func(a attempt) bool { return a.m.Kind == bot.MessageNewIncident })
	var perm *bot.PermanentError
	if !errors.As(a.err, &perm) || !errors.Is(a.err, errNotPrivate) {
		t.Fatalf("posting to a public channel: %v, want a permanent not-private error", a.err)
	}
	// Found at start already: one alert per conversion.
	w.c.waitDelivered(t, bot.MessageAlert, isOfficer("alice"))
	alerts := 0
	for _, p := range w.directPosts(t, "alice") {
		if strings.Contains(p.Message, "no longer private") {
			alerts++
			if strings.Contains(p.Message, "Secret") {
				t.Errorf("the alert carries report content: %q", p.Message)
			}
		}
	}
	if alerts != 1 {
		t.Errorf("%d alerts to alice, want 1", alerts)
	}
	for _, p := range w.botPosts(t, w.triage.Id) {
		t.Errorf("the bot posted in the public channel: %q", p.Message)
	}
	// The pings to the assignee and manager went direct, not there.
	if got := w.c.incident(t, inc.ID); got.State != bot.StateNew {
		t.Fatalf("state %s", got.State)
	}
}

func TestConversionToPublicStopsPosts(t *testing.T) {
	w := newWorld(t, worldOptions{})
	alice := w.client(t, "alice")
	ws := w.s.WebSocket(t, alice.AuthToken)
	inc := w.c.open(t, "Secret vulnerability title")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	before := len(w.botPosts(t, w.triage.Id))

	w.s.ConvertChannelToPublic(t, w.triage.Id)
	// The websocket sees the conversion: the officers hear of it at once,
	// before anything else is posted.
	w.c.waitDelivered(t, bot.MessageAlert, isOfficer("alice"))
	w.alertFor(t, ws, "no longer private")

	// Mid-incident, a change makes a notice for the channel: refused.
	bob := bot.Actor{Person: w.c.svc.Settings().People.ByName("bob"), Platform: bot.PlatformCLI}
	if _, err := w.c.svc.Ack(context.Background(), bob, bot.Member, inc.ID); err != nil {
		t.Fatal(err)
	}
	a := w.c.waitAttempt(t, "the notice", func(a attempt) bool { return a.m.Kind == bot.MessageNotice })
	if !errors.Is(a.err, errNotPrivate) {
		t.Fatalf("notice to a converted channel: %v", a.err)
	}
	if after := w.botPosts(t, w.triage.Id); len(after) != before {
		t.Errorf("%d bot posts after the conversion, %d before", len(after), before)
	}
	// Nor does the incident's post get updated with its new state.
	for _, p := range w.botPosts(t, w.triage.Id) {
		if p.EditAt != 0 {
			t.Errorf("post %s edited after the conversion: %q", p.Id, p.Message)
		}
	}
}

func TestUndeclaredMemberStopsReportContent(t *testing.T) {
	w := newWorld(t, worldOptions{})
	ws := w.s.WebSocket(t, w.client(t, "alice").AuthToken)
	w.s.AddToChannel(t, w.triage.Id, w.users["carol"].Id)
	msg := w.alertFor(t, ws, "not on the security team")
	if !strings.Contains(msg, w.users["carol"].Username) {
		t.Errorf("alert %q does not name carol", msg)
	}
	w.c.open(t, "Secret vulnerability title")
	a := w.c.waitAttempt(t, "the new-incident post", func(a attempt) bool { return a.m.Kind == bot.MessageNewIncident })
	if !errors.Is(a.err, errNotPrivate) {
		t.Fatalf("posting with carol in the channel: %v", a.err)
	}
}

func TestChannelPerIncident(t *testing.T) {
	w := newWorld(t, worldOptions{channelPerIncident: true})
	inc := w.c.open(t, "Own channel")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	chID, err := w.c.db.MattermostIncidentChannel(context.Background(), inc.ID)
	if err != nil || chID == "" {
		t.Fatalf("incident channel %q, %v", chID, err)
	}
	ch, _, err := w.s.Admin().GetChannel(ctxT(t), chID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Type != model.ChannelTypePrivate || ch.Name != "sec-"+itoa64(inc.ID) || ch.TeamId != w.team.Id {
		t.Errorf("incident channel %+v", ch)
	}
	members, _, err := w.s.Admin().GetChannelMembers(ctxT(t), chID, 0, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, m := range members {
		in[m.UserId] = true
	}
	// bob is the SIG lead (assignee), alice the officer (manager); carol
	// has no business there.
	if !in[w.botID] || !in[w.users["alice"].Id] || !in[w.users["bob"].Id] || in[w.users["carol"].Id] || len(in) != 3 {
		t.Errorf("members %v", in)
	}
	if posts := w.botPosts(t, chID); len(posts) != 1 || !strings.Contains(posts[0].Message, inc.Name()) {
		t.Errorf("posts in the incident channel: %d", len(posts))
	}
	if posts := w.botPosts(t, w.triage.Id); len(posts) != 0 {
		t.Errorf("the triage channel got %d posts", len(posts))
	}
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }
