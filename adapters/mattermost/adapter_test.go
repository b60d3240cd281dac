package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// Fast tests against the fake server.

type fakeWorld struct {
	f        *fake
	c        *core
	a        *Adapter
	triage   string
	alice    string
	bob      string
	listener *httptest.Server
	errc     chan error
}

// newFakeWorld starts the adapter and the outbox against a fake server;
// setup runs before they start (the outbox reads its deliverers once).
func newFakeWorld(t *testing.T, adapt func(*Options), setup ...func(*fakeWorld)) *fakeWorld {
	t.Helper()
	f := newFake(t)
	w := &fakeWorld{f: f, errc: make(chan error, 1)}
	w.alice, w.bob = f.addUser("alice", false), f.addUser("bob", false)
	w.triage = f.addChannel("security-triage", model.ChannelTypePrivate, f.botID, w.alice, w.bob)
	w.c = newCore(t, []person{{"alice", "officer", "alice", "dm"}, {"bob", "member", "bob", "channel"}})
	mux := http.NewServeMux()
	w.listener = httptest.NewServer(mux)
	t.Cleanup(w.listener.Close)
	opts := Options{
		URL: f.srv.URL, Token: f.token, Team: "security", TriageChannel: "security-triage",
		Trigger: "sec", SlashToken: "slash-token-0123456789", ButtonSecret: []byte("0123456789abcdef0123"),
		PublicURL: w.listener.URL, RequestTimeout: 5 * time.Second,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	}
	if adapt != nil {
		adapt(&opts)
	}
	a, err := New(opts, w.c.svc, w.c.reg, w.c.db, nil, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	w.a = a
	mux.Handle("/mattermost/", a.Handler())
	w.c.outbox.Register(bot.PlatformMattermost, a)
	for _, f := range setup {
		f(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.errc <- a.Run(ctx) }()
	go func() { defer wg.Done(); _ = w.c.outbox.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return w
}

func (w *fakeWorld) ready(t *testing.T) {
	t.Helper()
	select {
	case <-w.a.Ready():
	case err := <-w.errc:
		t.Fatalf("adapter stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("adapter not ready")
	}
	w.f.waitWebSocket(t)
}

func TestFakeNeedsTheToken(t *testing.T) {
	w := newFakeWorld(t, func(o *Options) { o.Token = "wrong" })
	select {
	case err := <-w.errc:
		var ce *configError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "401") {
			t.Fatalf("Run = %v, want a config error naming the 401", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a rejected token did not stop the adapter")
	}
}

func TestFakeMissingTriageChannel(t *testing.T) {
	w := newFakeWorld(t, func(o *Options) { o.TriageChannel = "nope" })
	select {
	case err := <-w.errc:
		if err == nil || !strings.Contains(err.Error(), `triage channel "nope"`) {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a missing triage channel did not stop the adapter")
	}
}

func TestFakeNewIncidentPostAndPings(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	inc := w.c.open(t, "Heap overflow @channel")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	posts := w.f.postsIn(w.triage)
	// The outbox may have delivered bob's ping in the channel (checked
	// below) already.
	if len(posts) != 1 && (len(posts) != 2 || !strings.HasPrefix(posts[1].Message, "@bob ")) {
		t.Fatalf("%d posts in triage", len(posts))
	}
	p := posts[0]
	if !strings.Contains(p.Message, inc.Name()) || !strings.Contains(p.Message, "`` Heap overflow @channel ``") && !strings.Contains(p.Message, "` Heap overflow @channel `") {
		t.Errorf("announcement: %q", p.Message)
	}
	if ids := strings.Join(actionIDs(p), ","); ids != "claim,ack,snooze" {
		t.Errorf("buttons %q", ids)
	}
	for _, a := range p.Attachments()[0].Actions {
		if a.Integration == nil || a.Integration.URL != w.listener.URL+ActionPath || a.Integration.Context["sig"] == nil {
			t.Errorf("button %s: %+v", a.Id, a.Integration)
		}
	}
	// bob (assignee) wants channel pings, alice (manager) direct ones.
	w.c.waitDelivered(t, bot.MessagePing, isOfficer("bob"))
	w.c.waitDelivered(t, bot.MessagePing, isOfficer("alice"))
	posts = w.f.postsIn(w.triage)
	if len(posts) != 2 || !strings.HasPrefix(posts[1].Message, "@bob ") {
		t.Errorf("bob's ping in the channel: %d posts, last %q", len(posts), posts[len(posts)-1].Message)
	}
}

// TestFakeSplitsAtTheLimit: the fake refuses posts over 16,383 runes; the
// adapter splits, and a post that would still be too big is refused for
// good rather than retried forever.
func TestFakeSplitsAtTheLimit(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	long := strings.Repeat("line of a long reply\n", 2000)
	var tx bot.Text
	tx.Plain("Long:").Line().Block(long)
	if err := w.c.db.Enqueue(context.Background(), []bot.OutboxMessage{{Dest: bot.Destination{Platform: bot.PlatformMattermost, Channel: bot.ChannelTriage}, Kind: bot.MessageDigest, Text: tx}}); err != nil {
		t.Fatal(err)
	}
	w.c.outbox.Wake()
	w.c.waitDelivered(t, bot.MessageDigest, nil)
	if n := len(w.f.postsIn(w.triage)); n != 3 {
		t.Errorf("%d posts for %d runes", n, len(long))
	}

	w.a.opts.PostLimit = 20000 // misconfigured: above the server's limit
	if err := w.c.db.Enqueue(context.Background(), []bot.OutboxMessage{{Dest: bot.Destination{Platform: bot.PlatformMattermost, Channel: bot.ChannelTriage}, Kind: bot.MessageNotice, Text: tx}}); err != nil {
		t.Fatal(err)
	}
	w.c.outbox.Wake()
	a := w.c.waitAttempt(t, "the oversized notice", func(a attempt) bool { return a.m.Kind == bot.MessageNotice })
	var perm *bot.PermanentError
	if !errors.As(a.err, &perm) || statusOf(a.err) != http.StatusBadRequest {
		t.Errorf("oversized post: %v, want a permanent 400", a.err)
	}
}

func TestFakeBotRemovedFromChannel(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	w.f.mu.Lock()
	delete(w.f.channels[w.triage].members, w.f.botID)
	w.f.mu.Unlock()
	w.c.open(t, "x")
	a := w.c.waitAttempt(t, "the new-incident post", func(a attempt) bool { return a.m.Kind == bot.MessageNewIncident })
	// Held, not given up: adding the bot back delivers it.
	if !bot.IsHeld(a.err) || !strings.Contains(a.err.Error(), "HTTP 403") {
		t.Fatalf("post to a channel the bot left: %v, want it held on a 403", a.err)
	}
	w.c.waitDelivered(t, bot.MessageAlert, isOfficer("alice"))
}

// TestFakeBotRemovedUnderAKeptVerdict: the bot is removed and the event
// saying so is not read yet, so the channel's kept verdict still passes;
// the post's 403 holds the message, as a failed check would, instead of
// giving it up, and ends the kept verdicts.
func TestFakeBotRemovedUnderAKeptVerdict(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	c := mustConn(t, w.a)
	k := verdictKey{channel: w.triage, sensitive: true}
	for deadline := time.Now().Add(10 * time.Second); w.a.verdicts.lookup(k, c) == nil; time.Sleep(20 * time.Millisecond) {
		if _, err := w.a.verifyChannel(ctxT(t), c, w.triage, true); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no verdict kept after a passing check")
		}
	}
	w.f.mu.Lock()
	delete(w.f.channels[w.triage].members, w.f.botID) // no event: the fake sends none
	w.f.mu.Unlock()
	w.c.open(t, "x")
	a := w.c.waitAttempt(t, "the new-incident post", func(a attempt) bool { return a.m.Kind == bot.MessageNewIncident })
	if !bot.IsHeld(a.err) || !strings.Contains(a.err.Error(), "HTTP 403") {
		t.Fatalf("post under a stale kept verdict: %v, want it held on a 403", a.err)
	}
	if w.a.verdicts.lookup(k, c) != nil {
		t.Error("the verdict the 403 disproved is still kept")
	}
}

// TestFake500sAndDroppedWebsocket: server errors and a cut websocket lose
// nothing; the outbox retries and the websocket comes back.
func TestFake500sAndDroppedWebsocket(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	w.f.failNextPosts(3)
	inc := w.c.open(t, "Retried")
	failures := 0
	for {
		a := w.c.waitAttempt(t, "the new-incident post", func(a attempt) bool { return a.m.Kind == bot.MessageNewIncident })
		if a.err == nil {
			break
		}
		if statusOf(a.err) != http.StatusInternalServerError || !transient(a.err) {
			t.Fatalf("attempt: %v", a.err)
		}
		failures++
	}
	if failures != 3 {
		t.Errorf("%d failed attempts, want 3", failures)
	}
	// bob's ping follows the announcement into the channel as soon as it
	// is delivered: count once both are out. The retries left one
	// announcement, not a copy per attempt.
	w.c.waitOutboxEmpty(t)
	if posts := w.f.postsIn(w.triage); len(posts) != 2 || !strings.Contains(posts[0].Message, inc.Name()) || !strings.HasPrefix(posts[1].Message, "@bob ") {
		t.Errorf("after the retries: %d posts; want the announcement and bob's ping", len(posts))
	}

	w.f.dropWebSockets()
	w.f.waitWebSocket(t) // the adapter reconnected
	dm, _, err := w.a.client.CreateDirectChannel(ctxT(t), w.f.botID, w.alice)
	if err != nil {
		t.Fatal(err)
	}
	w.f.directPost(w.alice, dm.Id, fmt.Sprintf("claim %d", inc.ID))
	w.f.waitPost(t, dm.Id, "You claimed "+inc.Name())
	if got := w.c.incident(t, inc.ID); !got.Claimed || got.Assignee != "alice" {
		t.Fatalf("after the DM: %+v", got)
	}
}

// slashForm is the form Mattermost posts for a slash command.
func (w *fakeWorld) slashForm(user, text string) url.Values {
	return url.Values{
		"token": {"slash-token-0123456789"}, "team_id": {w.f.team.Id}, "team_domain": {"security"},
		"channel_id": {w.triage}, "channel_name": {"security-triage"}, "user_id": {user}, "user_name": {"alice"},
		"command": {"/sec"}, "text": {text}, "trigger_id": {"dHJpZ2dlcg=="}, "root_id": {""},
		"response_url": {w.f.srv.URL + "/hooks/commands/" + model.NewId()},
	}
}

func (w *fakeWorld) slash(t *testing.T, form url.Values, header string) (int, *model.CommandResponse) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.listener.URL+CommandPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Mattermost-Bot/1.1")
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	resp, err := model.CommandResponseFromHTTPBody(res.Header.Get("Content-Type"), res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, resp
}

func TestFakeSlashRequest(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	inc := w.c.open(t, "Title")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	claim := fmt.Sprintf("claim %d", inc.ID)

	for name, tc := range map[string]struct {
		form   url.Values
		header string
	}{
		"wrong form token": {func() url.Values { f := w.slashForm(w.alice, claim); f.Set("token", "nope"); return f }(), "Token slash-token-0123456789"},
		"wrong header":     {w.slashForm(w.alice, claim), "Token nope"},
		"bearer header":    {w.slashForm(w.alice, claim), "Bearer slash-token-0123456789"},
	} {
		if status, _ := w.slash(t, tc.form, tc.header); status != http.StatusForbidden {
			t.Errorf("%s: HTTP %d", name, status)
		}
	}
	if w.c.incident(t, inc.ID).Claimed {
		t.Fatal("a refused request claimed")
	}
	status, resp := w.slash(t, w.slashForm(w.alice, claim), "Token slash-token-0123456789")
	if status != 200 || resp.ResponseType != model.CommandResponseTypeInChannel || !strings.Contains(resp.Text, "You claimed") || !resp.SkipSlackParsing {
		t.Fatalf("claim: HTTP %d %+v", status, resp)
	}
	if resp.Text[:2] != "``" && resp.Text[:1] != "`" {
		t.Errorf("the echoed command is not inert: %q", resp.Text)
	}
	// Failures are only for the one who asked.
	_, resp = w.slash(t, w.slashForm(w.alice, claim+"x"), "")
	if resp.ResponseType != model.CommandResponseTypeEphemeral {
		t.Errorf("a failed command answered %q", resp.ResponseType)
	}
	// Someone unknown: refused, nothing changes.
	_, resp = w.slash(t, w.slashForm(model.NewId(), "unclaim "+fmt.Sprint(inc.ID)), "")
	if resp.ResponseType != model.CommandResponseTypeEphemeral || !strings.Contains(resp.Text, "only from members") {
		t.Errorf("outsider: %+v", resp)
	}
}

// slowRunner holds every command until released.
type slowRunner struct {
	Runner
	release chan struct{}
}

func (s slowRunner) Run(ctx context.Context, a bot.Actor, line string, private bool) commands.Reply {
	<-s.release
	return s.Runner.Run(ctx, a, line, private)
}

func TestFakeSlowCommandAnswersLater(t *testing.T) {
	w := newFakeWorld(t, func(o *Options) { o.SlashBudget = 20 * time.Millisecond })
	w.ready(t)
	release := make(chan struct{})
	w.a.runner = slowRunner{Runner: w.a.runner, release: release}
	status, resp := w.slash(t, w.slashForm(w.alice, "help"), "")
	if status != 200 || resp.ResponseType != model.CommandResponseTypeEphemeral || !strings.Contains(resp.Text, "Working on it") {
		t.Fatalf("immediate answer: %d %+v", status, resp)
	}
	close(release)
	select {
	case body := <-w.f.hooks:
		var later model.CommandResponse
		if err := json.Unmarshal(body, &later); err != nil || !strings.Contains(later.Text, "Commands") || later.ResponseType != model.CommandResponseTypeEphemeral {
			t.Errorf("follow-up %s: %v", body, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no follow-up on response_url")
	}
	// A response_url elsewhere is never called.
	if w.a.validResponseURL("https://evil.example/hooks/commands/x") || w.a.validResponseURL(w.f.srv.URL+"@evil.example/hooks/commands/x") {
		t.Error("a foreign response_url was accepted")
	}
}

// TestFakeRecycledUsername: alice's account was renamed and someone else
// took the name "alice". sectriage keeps trusting alice's account.
func TestFakeRecycledUsername(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	pins, err := w.c.db.MattermostUserPins(context.Background())
	if err != nil || pins["alice"] != w.alice {
		t.Fatalf("pins %v, %v", pins, err)
	}
	w.f.mu.Lock()
	w.f.users[w.alice].Username = "alice-old"
	w.f.mu.Unlock()
	mallory := w.f.addUser("alice", false)

	// A fresh start of the adapter on the same database.
	a, err := New(w.a.opts, w.c.svc, w.c.reg, w.c.db, nil, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, _ := a.current()
	if p := a.person(c, mallory); p != nil {
		t.Fatalf("the new owner of the username is %s", p.Name)
	}
	if p := a.person(c, w.alice); p == nil || p.Name != "alice" {
		t.Fatalf("alice's account lost her: %v", p)
	}
	if c.mention("alice") != "alice-old" {
		t.Errorf("alice is pinged as @%s", c.mention("alice"))
	}
	w.c.waitDelivered(t, bot.MessageAlert, isOfficer("alice"))
}

func TestButtonSignature(t *testing.T) {
	a := &Adapter{opts: Options{ButtonSecret: []byte("0123456789abcdef")}}
	now := time.Unix(1_800_000_000, 0)
	b := buttonContext{Incident: 7, Action: "claim", Expires: now.Add(time.Hour), Nonce: "n"}
	ctx := a.sign(b)
	if got, err := a.verify(ctx, now); err != nil || got != b {
		t.Fatalf("verify = %+v, %v", got, err)
	}
	for _, field := range []string{"incident", "action", "expires", "nonce"} {
		forged := a.sign(b)
		forged[field] = "8"
		if _, err := a.verify(forged, now); !errors.Is(err, errBadSignature) {
			t.Errorf("%s changed: %v", field, err)
		}
	}
	if _, err := a.verify(ctx, now.Add(2*time.Hour)); !errors.Is(err, errExpired) {
		t.Errorf("expired: %v", err)
	}
	other := &Adapter{opts: Options{ButtonSecret: []byte("another key of 16+")}}
	if _, err := other.verify(ctx, now); !errors.Is(err, errBadSignature) {
		t.Errorf("other key: %v", err)
	}
	if _, err := (&Adapter{}).verify(ctx, now); !errors.Is(err, errBadSignature) {
		t.Errorf("no key: %v", err)
	}
}
