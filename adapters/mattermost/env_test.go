package mattermost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/internal/testenv/intaketest"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
	"github.com/sectriage/sectriage/storage"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mmserver.StopShared()
	os.Exit(code)
}

const waitLong = 30 * time.Second

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testLog shows the adapter's log with the test's output when asked to.
func testLog(t testing.TB) *slog.Logger {
	if os.Getenv("SECTRIAGE_TEST_LOG") == "" {
		return discard()
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// core is the real sectriage around the adapter: SQLite in a temporary
// directory, the service, the command registry and the outbox.
type core struct {
	db     *storage.DB
	svc    *bot.Service
	reg    *commands.Registry
	outbox *bot.Outbox
	// The intake and quarantine desk (see intaketest).
	intake *bot.Intake
	gate   *intaketest.Gate

	mu       sync.Mutex
	attempts []attempt    // every delivery attempt the outbox made
	taken    map[int]bool // attempts a wait returned already
	more     chan struct{}
}

type attempt struct {
	m   bot.OutboxMessage
	err error
}

// person is a declared person and their Mattermost username.
type person struct {
	name, role, mattermost, notify string
}

// newCore builds the domain side; publisher, when given, makes the
// registry's publisher from the service (the advisory tests).
func newCore(t testing.TB, people []person, publisher ...func(*bot.Service) commands.Publisher) *core {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "sectriage.db"), discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var list []bot.Person
	for _, p := range people {
		list = append(list, bot.Person{Name: p.name, Role: bot.Role(p.role), Mattermost: p.mattermost, Notify: p.notify})
	}
	dir, err := bot.NewPeople(list)
	if err != nil {
		t.Fatal(err)
	}
	st := &bot.Settings{
		People: dir, DefaultSIG: "core", Deadlines: bot.DefaultDeadlines(),
		SIGs:      []*bot.SIG{{Name: "core", Lead: people[1].name, Contacts: []string{people[1].name}}},
		Platforms: []string{bot.PlatformMattermost},
	}
	svc := bot.NewService(db, bot.SystemClock{}, discard(), st)
	intake, qdesk, gate := intaketest.NewDesk(svc, db, 24*time.Hour)
	copts := commands.Options{Quarantine: qdesk}
	for _, p := range publisher {
		copts.Publisher = p(svc)
	}
	reg, err := commands.New(svc, discard(), copts)
	if err != nil {
		t.Fatal(err)
	}
	c := &core{db: db, svc: svc, reg: reg, taken: map[int]bool{}, more: make(chan struct{}, 1), intake: intake, gate: gate}
	c.outbox = bot.NewOutbox(db, bot.SystemClock{}, testLog(t))
	c.outbox.MinBackoff, c.outbox.MaxBackoff, c.outbox.Idle = 50*time.Millisecond, 500*time.Millisecond, 100*time.Millisecond
	c.outbox.Observe = func(m bot.OutboxMessage, err error) {
		c.mu.Lock()
		c.attempts = append(c.attempts, attempt{m, err})
		c.mu.Unlock()
		select {
		case c.more <- struct{}{}:
		default:
		}
	}
	svc.OnEnqueue(c.outbox.Wake)
	return c
}

// waitAttempt returns the first delivery attempt, made already or soon,
// that matches and that no earlier wait returned.
func (c *core) waitAttempt(t testing.TB, what string, match func(attempt) bool) attempt {
	t.Helper()
	timeout := time.NewTimer(waitLong)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		for i, a := range c.attempts {
			if !c.taken[i] && match(a) {
				c.taken[i] = true
				c.mu.Unlock()
				return a
			}
		}
		c.mu.Unlock()
		select {
		case <-c.more:
		case <-timeout.C:
			t.Fatalf("no delivery attempt of %s within %v", what, waitLong)
		}
	}
}

// waitDelivered waits for a successful delivery of a message of kind.
func (c *core) waitDelivered(t testing.TB, kind string, dest func(bot.Destination) bool) bot.OutboxMessage {
	t.Helper()
	return c.waitAttempt(t, kind+" delivered", func(a attempt) bool {
		if a.m.Kind == kind && (dest == nil || dest(a.m.Dest)) && a.err != nil {
			var perm *bot.PermanentError
			if errors.As(a.err, &perm) {
				t.Fatalf("%s to %s failed for good: %v", kind, a.m.Dest, a.err)
			}
		}
		return a.m.Kind == kind && a.err == nil && (dest == nil || dest(a.m.Dest))
	}).m
}

// waitOutboxEmpty waits until nothing is pending and fails if a message
// was given up or held.
func (c *core) waitOutboxEmpty(t testing.TB) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	for {
		stats, err := c.db.OutboxStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if stats.Pending == 0 {
			if stats.Dead != 0 || stats.Held != 0 {
				t.Fatalf("outbox: %d messages given up, %d held", stats.Dead, stats.Held)
			}
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("outbox still has %d pending after %v", stats.Pending, waitLong)
		}
	}
}

func (c *core) open(t testing.TB, title string) *bot.Incident {
	t.Helper()
	inc, err := c.svc.OpenIncident(context.Background(), bot.SystemActor(), bot.NewIncident{Title: title, Reporter: "reporter@example.org", Encrypted: true})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func (c *core) incident(t testing.TB, id int64) *bot.Incident {
	t.Helper()
	inc, err := c.db.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// world is a Mattermost team set up as an operator would, with the
// adapter running against it.
type world struct {
	s        *mmserver.Server
	team     *model.Team
	botID    string
	botToken string
	triage   *model.Channel
	users    map[string]*model.User // by username
	listener *httptest.Server
	slash    *model.Command
	secret   []byte
	c        *core
	a        *Adapter
	stop     func()
}

type worldOptions struct {
	publicTriage       bool
	channelPerIncident bool
	reports            ReportReader
	server             *mmserver.Server // nil: the shared one
	adapt              func(*Options)
	wrap               func(http.Handler) http.Handler // around the adapter's handler
	publisher          func(*bot.Service) commands.Publisher
	// realBackoff keeps the production retry delays of the outbox and the
	// websocket instead of the tests' short ones.
	realBackoff bool
}

// Usernames of the world: alice (officer), bob (member, SIG lead), carol
// (in the team, not declared).
func newWorld(t testing.TB, o worldOptions) *world {
	t.Helper()
	s := o.server
	if s == nil {
		s = mmserver.Shared(t)
	}
	w := &world{s: s, users: map[string]*model.User{}, secret: []byte("0123456789abcdef-button-secret")}
	w.team = s.CreateTeam(t, s.UniqueName("sec"))
	for _, name := range []string{"alice", "bob", "carol"} {
		u, _ := s.CreateUser(t, s.UniqueName(name))
		s.AddToTeam(t, w.team.Id, u.Id)
		w.users[name] = u
	}
	w.botID, w.botToken = s.CreateBot(t, s.UniqueName("sectriage"), w.team.Id)
	w.triage = s.CreateChannel(t, w.team.Id, s.UniqueName("triage"), !o.publicTriage)
	for _, id := range []string{w.users["alice"].Id, w.users["bob"].Id, w.botID} {
		s.AddToChannel(t, w.triage.Id, id)
	}
	mux := http.NewServeMux()
	w.listener = httptest.NewServer(mux)
	t.Cleanup(w.listener.Close)
	w.slash = s.CreateSlashCommand(t, w.team.Id, "sec", w.listener.URL+CommandPath)

	var pub []func(*bot.Service) commands.Publisher
	if o.publisher != nil {
		pub = append(pub, o.publisher)
	}
	w.c = newCore(t, []person{
		{"alice", "officer", w.users["alice"].Username, "dm"},
		{"bob", "member", w.users["bob"].Username, "dm"},
	}, pub...)
	opts := Options{
		URL: s.URL(), Token: w.botToken, Team: w.team.Name, TriageChannel: w.triage.Name,
		ChannelPerIncident: o.channelPerIncident, ChannelPrefix: "sec-", Trigger: "sec",
		SlashToken: w.slash.Token, ButtonSecret: w.secret, ButtonTTL: time.Hour,
		PublicURL: w.listener.URL, TrustedMembers: []string{mmserver.AdminName}, MaxPosts: 4,
		RequestTimeout: 10 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	}
	opts.Outbox = w.c.outbox
	if o.realBackoff {
		opts.MinBackoff, opts.MaxBackoff = 0, 0
		def := bot.NewOutbox(w.c.db, bot.SystemClock{}, discard())
		w.c.outbox.MinBackoff, w.c.outbox.MaxBackoff = def.MinBackoff, def.MaxBackoff
	}
	if o.adapt != nil {
		o.adapt(&opts)
	}
	a, err := New(opts, w.c.svc, w.c.reg, w.c.db, o.reports, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	w.a = a
	h := a.Handler()
	if o.wrap != nil {
		h = o.wrap(h)
	}
	mux.Handle("/mattermost/", h)
	w.c.outbox.Register(bot.PlatformMattermost, a)
	a.SetOutbox(w.c.outbox)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(2)
	go func() { defer wg.Done(); errc <- a.Run(ctx) }()
	go func() { defer wg.Done(); _ = w.c.outbox.Run(ctx) }()
	w.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(w.stop)
	select {
	case <-a.Ready():
	case err := <-errc:
		t.Fatalf("adapter stopped at start: %v", err)
	case <-time.After(waitLong):
		t.Fatal("adapter not connected")
	}
	return w
}

// client logs in as one of the world's users.
func (w *world) client(t testing.TB, name string) *model.Client4 {
	t.Helper()
	return w.s.UserClient(t, w.users[name].Username)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

// claimByDM has user send "claim N" to the bot in a direct message and
// waits for the bot's answer there.
func (w *world) claimByDM(t testing.TB, user string, inc *bot.Incident) {
	t.Helper()
	c := w.client(t, user)
	dm, _, err := c.CreateDirectChannel(ctxT(t), w.users[user].Id, w.botID)
	if err != nil {
		t.Fatal(err)
	}
	ws := w.s.WebSocket(t, c.AuthToken)
	if _, _, err := c.CreatePost(ctxT(t), &model.Post{ChannelId: dm.Id, Message: fmt.Sprintf("claim %d", inc.ID)}); err != nil {
		t.Fatal(err)
	}
	ws.WaitFor(t, waitLong, mmserver.IsPosted(dm.Id, "You claimed "+inc.Name()))
}

// botPosts returns the bot's posts in a channel, oldest first.
func (w *world) botPosts(t testing.TB, channelID string) []*model.Post {
	t.Helper()
	list, _, err := w.s.Admin().GetPostsForChannel(ctxT(t), channelID, 0, 200, "", false, false)
	if err != nil {
		t.Fatalf("reading posts: %v", err)
	}
	var out []*model.Post
	for i := len(list.Order) - 1; i >= 0; i-- {
		if p := list.Posts[list.Order[i]]; p.UserId == w.botID && !p.IsSystemMessage() {
			out = append(out, p)
		}
	}
	return out
}

// directPosts returns what the bot posted in its direct channel with a user.
func (w *world) directPosts(t testing.TB, user string) []*model.Post {
	t.Helper()
	dm, _, err := w.client(t, user).CreateDirectChannel(ctxT(t), w.users[user].Id, w.botID)
	if err != nil {
		t.Fatal(err)
	}
	return w.botPosts(t, dm.Id)
}
