package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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

// TestPrivacyPublicTriageHeldUntilPrivate: a public triage channel gets
// nothing; the post is held (not given up), the officers are told once,
// `sectriage check` fails, and once the channel is made private the post
// goes out.
func TestPrivacyPublicTriageHeldUntilPrivate(t *testing.T) {
	w := newWorld(t, worldOptions{publicTriage: true})
	inc := w.c.open(t, "Secret vulnerability title")
	a := w.c.waitAttempt(t, "the new-incident post", func(a attempt) bool { return a.m.Kind == bot.MessageNewIncident })
	if !bot.IsHeld(a.err) || !errors.Is(a.err, errNotPrivate) {
		t.Fatalf("posting to a public channel: %v, want it held as not private", a.err)
	}
	if v, err := w.a.CheckPrivacy(ctxT(t)); err != nil || v.OK || !strings.Contains(v.Reason, "public") {
		t.Fatalf("check: %+v, %v: want it to fail on a public channel", v, err)
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
	if s, _ := w.c.db.OutboxStats(ctxT(t)); s.Held != 1 || s.Dead != 0 {
		t.Fatalf("outbox %+v: want the post held, nothing dead", s)
	}

	// Made private: the websocket's event releases the post.
	w.s.ConvertChannelToPrivate(t, w.triage.Id)
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	if posts := w.botPosts(t, w.triage.Id); len(posts) == 0 || !strings.Contains(posts[0].Message, inc.Name()) {
		t.Fatalf("after the fix, the channel has %d bot posts", len(posts))
	}
	if v, err := w.a.CheckPrivacy(ctxT(t)); err != nil || !v.OK {
		t.Fatalf("check after the fix: %+v, %v", v, err)
	}
}

// TestPrivacyConversionToPublicHolds: a channel turned public mid-incident
// gets no notice, and gets it once it is private again.
func TestPrivacyConversionToPublicHolds(t *testing.T) {
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
	w.s.ConvertChannelToPrivate(t, w.triage.Id)
	w.c.waitDelivered(t, bot.MessageNotice, nil)
	if after := w.botPosts(t, w.triage.Id); len(after) != before+1 {
		t.Errorf("%d bot posts once private again, want %d", len(after), before+1)
	}
}

// TestPrivacyOutsiderHoldsEverything: someone not on the security team
// added to the private triage channel gets no report content, no incident
// notice and no command echo (embargoed CVE ids); the officers hear of it
// once, `sectriage check` fails, and removing them releases what was held.
func TestPrivacyOutsiderHoldsEverything(t *testing.T) {
	w := newWorld(t, worldOptions{})
	alice := w.client(t, "alice")
	ws := w.s.WebSocket(t, alice.AuthToken)
	first := w.c.open(t, "Earlier incident")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	before := len(w.botPosts(t, w.triage.Id))

	carol := w.users["carol"]
	w.s.AddToChannel(t, w.triage.Id, carol.Id)
	msg := w.alertFor(t, ws, "neither declared people nor trusted")
	if !strings.Contains(msg, carol.Username) {
		t.Errorf("alert %q does not name carol", msg)
	}
	if v, err := w.a.CheckPrivacy(ctxT(t)); err != nil || v.OK || !strings.Contains(v.Reason, "@"+carol.Username+" (outsider)") {
		t.Fatalf("check: %+v, %v: want it to fail naming carol", v, err)
	}

	inc := w.c.open(t, "Secret vulnerability title")
	a := w.c.waitAttempt(t, "the new-incident post", func(a attempt) bool { return a.m.Kind == bot.MessageNewIncident })
	if !bot.IsHeld(a.err) || !strings.Contains(a.err.Error(), carol.Username) {
		t.Fatalf("posting with carol in the channel: %v, want it held naming her", a.err)
	}
	// A notice about an incident, as a change made elsewhere queues it.
	notice := bot.OutboxMessage{Dest: bot.Destination{Platform: bot.PlatformMattermost, Channel: bot.ChannelIncident},
		Kind: bot.MessageNotice, IncidentID: first.ID, Text: bot.PlainText(first.Name() + ": bob acknowledged it."),
		Created: time.Now(), NextAttempt: time.Now()}
	if err := w.c.db.Enqueue(context.Background(), []bot.OutboxMessage{notice}); err != nil {
		t.Fatal(err)
	}
	w.c.outbox.Wake()
	a = w.c.waitAttempt(t, "the notice", func(a attempt) bool { return a.m.Kind == bot.MessageNotice })
	if !bot.IsHeld(a.err) {
		t.Fatalf("notice with carol in the channel: %v, want it held", a.err)
	}
	// A command in the channel: the answer is for alice alone.
	resp, _, err := alice.ExecuteCommand(ctxT(t), w.triage.Id, fmt.Sprintf("/sec cve %d CVE-2026-31337", first.ID))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ResponseType != model.CommandResponseTypeEphemeral {
		t.Errorf("command answer %q with carol in the channel: want it ephemeral", resp.ResponseType)
	}
	for _, p := range w.botPosts(t, w.triage.Id)[before:] {
		t.Errorf("the bot posted with carol in the channel: %q", p.Message)
	}
	alerts := 0
	for _, p := range w.directPosts(t, "alice") {
		if strings.Contains(p.Message, "neither declared people nor trusted") {
			alerts++
		}
	}
	if alerts != 1 {
		t.Errorf("%d alerts to alice, want 1 for one problem", alerts)
	}

	if _, err := w.s.Admin().RemoveUserFromChannel(ctxT(t), w.triage.Id, carol.Id); err != nil {
		t.Fatal(err)
	}
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	w.c.waitDelivered(t, bot.MessageNotice, nil)
	var texts []string
	for _, p := range w.botPosts(t, w.triage.Id)[before:] {
		texts = append(texts, p.Message)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, inc.Name()) || !strings.Contains(all, first.Name()) || strings.Contains(all, "CVE-2026-31337") {
		t.Errorf("after carol left, the channel got %q: want the held post and notice, and no echo of the command", all)
	}
}

// TestPrivacyGroupChannelMembers: a group channel passes only while all
// its members are on the team.
func TestPrivacyGroupChannelMembers(t *testing.T) {
	w := newWorld(t, worldOptions{})
	c, err := w.a.current()
	if err != nil {
		t.Fatal(err)
	}
	team, _, err := w.s.Admin().CreateGroupChannel(ctxT(t), []string{w.botID, w.users["alice"].Id, w.users["bob"].Id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.a.verifyChannel(ctxT(t), c, team.Id, true); err != nil {
		t.Fatalf("a group of the bot, alice and bob: %v", err)
	}
	mixed, _, err := w.s.Admin().CreateGroupChannel(ctxT(t), []string{w.botID, w.users["alice"].Id, w.users["carol"].Id})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.a.verifyChannel(ctxT(t), c, mixed.Id, true)
	if !bot.IsHeld(err) || !strings.Contains(err.Error(), w.users["carol"].Username) {
		t.Fatalf("a group with carol: %v, want it held naming her", err)
	}
	// A DM answer that shows nothing about incidents needs only a channel
	// of the bot's: outsiders get their refusals.
	if _, err := w.a.verifyChannel(ctxT(t), c, mixed.Id, false); err != nil {
		t.Fatalf("a non-sensitive answer in the group: %v", err)
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
