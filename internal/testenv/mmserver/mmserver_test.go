package mmserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/internal/testenv/mmserver"
)

// TestMain shows the pattern for packages that use Shared.
func TestMain(m *testing.M) {
	code := m.Run()
	mmserver.StopShared()
	os.Exit(code)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestHarness walks through what the bot's tests need: a team, users, a
// bot with a token, a private channel, posting, mentions, a slash command
// calling back to loopback, websocket events, and the server going away.
func TestHarness(t *testing.T) {
	s := mmserver.Start(t)

	cfg, _, err := s.Admin().GetConfig(ctx(t))
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	if *cfg.ServiceSettings.EnableLinkPreviews || !*cfg.ServiceSettings.EnableBotAccountCreation ||
		!*cfg.ServiceSettings.EnableUserAccessTokens || !*cfg.ServiceSettings.EnableCommands ||
		!strings.Contains(*cfg.ServiceSettings.AllowedUntrustedInternalConnections, "127.0.0.1") {
		t.Errorf("effective config differs from the harness's: %+v", cfg.ServiceSettings)
	}

	team := s.CreateTeam(t, "acme")
	alice, _ := s.CreateUser(t, "alice")
	s.AddToTeam(t, team.Id, alice.Id)
	botID, botToken := s.CreateBot(t, "sectriage", team.Id)
	ch := s.CreateChannel(t, team.Id, "incidents", true)
	if ch.Type != model.ChannelTypePrivate {
		t.Fatalf("channel type %q, want private", ch.Type)
	}
	s.AddToChannel(t, ch.Id, alice.Id)
	s.AddToChannel(t, ch.Id, botID)

	aliceC := s.UserClient(t, "alice")
	ws := s.WebSocket(t, aliceC.AuthToken)
	if ev := ws.Next(t, 10*time.Second); ev.EventType() != model.WebsocketEventHello {
		t.Fatalf("first websocket event %q, want hello", ev.EventType())
	}

	// Being added to a private channel already counts as a mention, so
	// count from here.
	before, _, err := aliceC.GetChannelUnread(ctx(t), ch.Id, alice.Id)
	if err != nil {
		t.Fatalf("GetChannelUnread: %v", err)
	}
	bot := s.Client(botToken)
	me, _, err := bot.GetMe(ctx(t), "")
	if err != nil || !me.IsBot || me.Id != botID {
		t.Fatalf("bot GetMe = %+v, %v", me, err)
	}
	post, _, err := bot.CreatePost(ctx(t), &model.Post{ChannelId: ch.Id, Message: "hello @alice"})
	if err != nil {
		t.Fatalf("bot post: %v", err)
	}
	got := mmserver.PostOf(t, ws.WaitFor(t, 10*time.Second, mmserver.IsPosted(ch.Id, "hello @alice")))
	if got.Id != post.Id || got.UserId != botID {
		t.Errorf("websocket post %+v, want id %s from %s", got, post.Id, botID)
	}
	unread, _, err := aliceC.GetChannelUnread(ctx(t), ch.Id, alice.Id)
	if err != nil || unread.MentionCount != before.MentionCount+1 {
		t.Errorf("alice's unread = %+v, %v; want one more mention than %d", unread, err, before.MentionCount)
	}

	// The slash command and the button call an HTTP server on 127.0.0.1,
	// as they will call the bot.
	type call struct {
		auth string
		form url.Values
	}
	calls := make(chan call, 1)
	actions := make(chan model.PostActionIntegrationRequest, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/slash", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		calls <- call{r.Header.Get("Authorization"), r.PostForm}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&model.CommandResponse{ResponseType: model.CommandResponseTypeInChannel, Text: "ack from the hook"})
	})
	mux.HandleFunc("/action", func(w http.ResponseWriter, r *http.Request) {
		var req model.PostActionIntegrationRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		actions <- req
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&model.PostActionIntegrationResponse{EphemeralText: "claimed"})
	})
	hook := httptest.NewServer(mux)
	defer hook.Close()

	cmd := s.CreateSlashCommand(t, team.Id, "sec", hook.URL+"/slash")
	if cmd.Token == "" {
		t.Fatal("slash command has no token")
	}
	if _, _, err := aliceC.ExecuteCommand(ctx(t), ch.Id, "/sec claim 42"); err != nil {
		t.Fatalf("ExecuteCommand: %v", err)
	}
	select {
	case c := <-calls:
		want := map[string]string{
			"token": cmd.Token, "user_id": alice.Id, "command": "/sec", "text": "claim 42",
			"channel_id": ch.Id, "team_id": team.Id, "user_name": "alice",
		}
		for k, v := range want {
			if got := c.form.Get(k); got != v {
				t.Errorf("slash form %s = %q, want %q", k, got, v)
			}
		}
		if !strings.HasPrefix(c.form.Get("response_url"), s.URL()+"/hooks/commands/") {
			t.Errorf("response_url = %q", c.form.Get("response_url"))
		}
		if c.auth != "Token "+cmd.Token {
			t.Errorf("Authorization = %q", c.auth)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slash command never reached the hook")
	}
	ws.WaitFor(t, 10*time.Second, mmserver.IsPosted(ch.Id, "ack from the hook"))

	buttons := &model.Post{ChannelId: ch.Id, Message: "incident 42"}
	model.ParseMessageAttachment(buttons, []*model.MessageAttachment{{
		Text: "open",
		Actions: []*model.PostAction{{
			Id: "claim", Type: model.PostActionTypeButton, Name: "Claim",
			Integration: &model.PostActionIntegration{URL: hook.URL + "/action", Context: map[string]any{"incident": "42"}},
		}},
	}})
	buttons, _, err = bot.CreatePost(ctx(t), buttons)
	if err != nil {
		t.Fatalf("bot post with a button: %v", err)
	}
	if _, err := aliceC.DoPostAction(ctx(t), buttons.Id, "claim"); err != nil {
		t.Fatalf("clicking the button: %v", err)
	}
	select {
	case req := <-actions:
		if req.UserId != alice.Id || req.PostId != buttons.Id || req.ChannelId != ch.Id || req.Context["incident"] != "42" {
			t.Errorf("button callback %+v", req)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the button never reached the hook")
	}

	if got := s.ConvertChannelToPublic(t, ch.Id); got.Type != model.ChannelTypeOpen {
		t.Errorf("after ConvertChannelToPublic type %q", got.Type)
	}
	if got := s.ConvertChannelToPrivate(t, ch.Id); got.Type != model.ChannelTypePrivate {
		t.Errorf("after ConvertChannelToPrivate type %q", got.Type)
	}

	// Down: posts fail and the websocket ends. Up: same URL, sessions,
	// tokens and data.
	s.StopMattermost(t)
	if _, _, err := bot.CreatePost(ctx(t), &model.Post{ChannelId: ch.Id, Message: "while down"}); err == nil {
		t.Error("posting while the server is down succeeded")
	}
	select {
	case <-ws.Closed():
	case <-time.After(10 * time.Second):
		t.Error("websocket still open after the server stopped")
	}
	s.StartMattermost(t)
	start := time.Now()
	s.Restart(t)
	t.Logf("Restart took %v", time.Since(start).Round(time.Millisecond))
	if _, _, err := bot.CreatePost(ctx(t), &model.Post{ChannelId: ch.Id, Message: "after restart"}); err != nil {
		t.Fatalf("bot post after restart: %v", err)
	}
	posts, _, err := aliceC.GetPostsForChannel(ctx(t), ch.Id, 0, 10, "", false, false)
	if err != nil {
		t.Fatalf("reading posts after restart: %v", err)
	}
	var msgs []string
	for _, id := range posts.Order {
		msgs = append(msgs, posts.Posts[id].Message)
	}
	if !strings.Contains(strings.Join(msgs, "|"), "after restart") || !strings.Contains(strings.Join(msgs, "|"), "hello @alice") {
		t.Errorf("posts after restart: %q", msgs)
	}
}

// TestShared shows tests sharing one server: unique names, no restarts.
func TestShared(t *testing.T) {
	var first *mmserver.Server
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			s := mmserver.Shared(t)
			if first == nil {
				first = s
			} else if s != first {
				t.Error("Shared returned a second server")
			}
			team := s.CreateTeam(t, s.UniqueName("team"))
			u, _ := s.CreateUser(t, s.UniqueName("user"))
			s.AddToTeam(t, team.Id, u.Id)
			ch := s.CreateChannel(t, team.Id, s.UniqueName("chan"), false)
			s.AddToChannel(t, ch.Id, u.Id)
			if _, _, err := s.UserClient(t, u.Username).CreatePost(ctx(t), &model.Post{ChannelId: ch.Id, Message: "hi"}); err != nil {
				t.Fatalf("post: %v", err)
			}
		})
	}
}

// fakeT records whether Start skipped or failed, and stops the goroutine
// there as the real methods do.
type fakeT struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeT) Helper()                  {}
func (f *fakeT) Skipf(string, ...any)     { f.skipped = true; runtime.Goexit() }
func (f *fakeT) Fatalf(string, ...any)    { f.failed = true; runtime.Goexit() }
func (f *fakeT) Logf(string, ...any)      {}
func (f *fakeT) Cleanup(func())           {}
func (f *fakeT) Context() context.Context { return context.Background() }

// TestMissingBinary: without the binary a test skips, unless CI is set;
// under -short it skips before looking.
func TestMissingBinary(t *testing.T) {
	t.Setenv("SECTRIAGE_MATTERMOST_BIN", "/nonexistent/mattermost")
	for _, ci := range []string{"", "1"} {
		t.Setenv("CI", ci)
		f := &fakeT{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); mmserver.Start(f) }()
		<-done
		wantSkip := ci == "" || testing.Short() // -short skips before anything is looked for
		if f.skipped != wantSkip || f.failed == wantSkip {
			t.Errorf("CI=%q: skipped=%v failed=%v", ci, f.skipped, f.failed)
		}
	}
}
