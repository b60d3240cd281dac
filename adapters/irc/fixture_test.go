package irc_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/internal/testenv/intaketest"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
	"github.com/sectriage/sectriage/storage"
)

const (
	wait     = 10 * time.Second
	botNick  = "sectriage"
	channel  = "#sec"
	chanKey  = "s3cret-key"
	password = "pw-"
)

// accounts every test network gets: the bot's, the team members' and a
// stranger's.
var accounts = []string{botNick, password + botNick, "alice", password + "alice", "bob", password + "bob",
	"dave", password + "dave", "mallory", password + "mallory", "watcher", password + "watcher"}

// team is the declared people: alice is an officer, bob a member and
// SIG lead, dave a member who wants pings in the channel; carol is on the
// team but not on IRC. watcher is a member the tests watch the channel
// with: anyone else in it would be an outsider, and the channel would get
// nothing.
func team(t testing.TB) *bot.People {
	p, err := bot.NewPeople([]bot.Person{
		{Name: "alice", Role: bot.RoleOfficer, IRCAccount: "alice"},
		{Name: "bob", Role: bot.RoleMember, IRCAccount: "bob"},
		{Name: "dave", Role: bot.RoleMember, IRCAccount: "dave", Notify: bot.NotifyChannel},
		{Name: "carol", Role: bot.RoleMember},
		{Name: "watcher", Role: bot.RoleMember, IRCAccount: "watcher"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeReports serves report bodies as the intake pipeline would: the body
// is a stored report, kept before its incident is opened, and found
// through the incident's report id. The outbox may deliver the
// announcement the moment the incident is committed, so a body attached
// afterwards would race it and the post could go out without its report.
type fakeReports struct {
	db *storage.DB
}

func (r *fakeReports) ReportBody(ctx context.Context, id int64) (bot.Text, error) {
	var t bot.Text
	inc, err := r.db.Incident(ctx, id)
	if err != nil || inc.ReportID == 0 {
		return t, err
	}
	rep, err := r.db.Report(ctx, inc.ReportID)
	if err != nil {
		return t, err
	}
	t.Block(string(rep.Raw))
	return t, nil
}

// delivery is one outbox attempt, as Outbox.Observe reports it.
type delivery struct {
	m   bot.OutboxMessage
	err error
}

// desk is the whole bot on a real network: storage, service, commands,
// outbox and the IRC adapter, running until the test ends.
type desk struct {
	net       *ircnet.Network
	db        *storage.DB
	svc       *bot.Service
	outbox    *bot.Outbox
	irc       *irc.Adapter
	reports   *fakeReports
	delivered chan delivery
	log       *syncBuffer
	intake    *bot.Intake      // with deskOptions.quarantine
	gate      *intaketest.Gate // with deskOptions.quarantine
}

type deskOptions struct {
	platforms []string // bot.Settings.Platforms; default: IRC
	// gate, when set, holds deliveries while it is held, so a test can get
	// its watchers in place first.
	gate  *gate
	tweak func(*irc.Options)
	// quarantine gives the bot an intake and quarantine desk (see
	// intaketest): desk.intake and desk.gate.
	quarantine bool
}

// startDesk starts the bot on n. The caller has prepared the channel.
func startDesk(t testing.TB, n *ircnet.Network, o deskOptions) *desk {
	t.Helper()
	d := &desk{net: n, delivered: make(chan delivery, 1000), log: &syncBuffer{}}
	// Registered first so it runs last, after everything has stopped.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bot log:\n%s", d.log.String())
		}
	})
	log := slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "st.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	d.db = db
	d.reports = &fakeReports{db: db}
	platforms := o.platforms
	if platforms == nil {
		platforms = []string{bot.PlatformIRC}
	}
	settings := &bot.Settings{
		People: team(t), DefaultSIG: "core", Deadlines: bot.DefaultDeadlines(), Platforms: platforms, Location: time.UTC,
		SIGs: []*bot.SIG{{Name: "core", Lead: "bob", Contacts: []string{"bob"}}},
	}
	d.svc = bot.NewService(db, bot.SystemClock{}, log, settings)
	cmdOpts := commands.Options{Reports: d.reports}
	if o.quarantine {
		var qd *bot.QuarantineDesk
		d.intake, qd, d.gate = intaketest.NewDesk(d.svc, db, 24*time.Hour)
		cmdOpts.Quarantine = qd
	}
	reg, err := commands.New(d.svc, log, cmdOpts)
	if err != nil {
		t.Fatal(err)
	}
	d.outbox = bot.NewOutbox(db, bot.SystemClock{}, log)
	d.outbox.MinBackoff, d.outbox.MaxBackoff, d.outbox.Idle = 50*time.Millisecond, time.Second, 200*time.Millisecond
	d.outbox.Observe = func(m bot.OutboxMessage, err error) { d.delivered <- delivery{m, err} }
	d.svc.OnEnqueue(d.outbox.Wake)
	opts := irc.Options{
		Server: n.Addr(), Nick: botNick, AltNicks: []string{botNick + "2"},
		SASL:          irc.SASL{Mechanism: irc.SASLPlain, Account: botNick, Password: password + botNick},
		TriageChannel: channel, TriageKey: chanKey,
		Burst: 4, PerLine: 50 * time.Millisecond, MaxBodyLines: 25, FullReport: "/sec show {id} in Mattermost",
		ReconnectMin: 200 * time.Millisecond, ReconnectMax: 2 * time.Second, ModeGrace: 2 * time.Second,
	}
	if o.tweak != nil {
		o.tweak(&opts)
	}
	d.irc = irc.New(opts, irc.Deps{Service: d.svc, Commands: reg, Reports: d.reports, Outbox: d.outbox, Channels: db, Record: d.svc, Queue: db}, log)
	var deliverer bot.Deliverer = d.irc
	if o.gate != nil {
		deliverer = bot.DeliverFunc(func(ctx context.Context, m bot.OutboxMessage) error {
			select {
			case <-o.gate.wait():
			case <-ctx.Done():
				return ctx.Err()
			}
			return d.irc.Deliver(ctx, m)
		})
	}
	d.outbox.Register(bot.PlatformIRC, deliverer)
	var wg sync.WaitGroup
	wg.Go(func() { d.irc.Run(ctx) })
	wg.Go(func() { d.outbox.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		db.Close()
	})
	return d
}

// waitStatus waits until the bot's status satisfies cond.
func (d *desk) waitStatus(t testing.TB, what string, cond func(irc.Status) bool) irc.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	st, err := d.irc.WaitStatus(ctx, cond)
	if err != nil {
		t.Fatalf("bot never %s; status %+v", what, st)
	}
	return st
}

// waitDelivered waits for n delivery attempts that match and returns them.
func (d *desk) waitDelivered(t testing.TB, n int, timeout time.Duration, match func(delivery) bool) []delivery {
	t.Helper()
	var got []delivery
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case dl := <-d.delivered:
			if match(dl) {
				got = append(got, dl)
			}
		case <-deadline:
			t.Fatalf("%d of %d expected deliveries after %v", len(got), n, timeout)
		}
	}
	return got
}

// waitOutboxEmpty waits until nothing is pending: messages the test did
// not wait for one by one may still be on their way.
func (d *desk) waitOutboxEmpty(t testing.TB) {
	t.Helper()
	var stats storage.OutboxStats
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for {
		stats, _ = d.db.OutboxStats(context.Background())
		if stats.Pending == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("outbox still has %d pending", stats.Pending)
		}
	}
	if stats.Dead != 0 {
		t.Fatalf("%d messages were given up", stats.Dead)
	}
}

// open creates an incident as intake would: its report body, if any, is
// stored first, so it is there when the announcement goes out.
func (d *desk) open(t testing.TB, title, body string) *bot.Incident {
	t.Helper()
	ctx := context.Background()
	var reportID int64
	if body != "" {
		var dup bool
		var err error
		reportID, dup, err = d.db.StoreReport(ctx, "test", "", []byte(body), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if dup {
			t.Fatal("this body was already stored: one report makes one incident, give each a different body")
		}
	}
	inc, err := d.svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{
		Title: title, Reporter: "reporter@example.org", ReportID: reportID, Encrypted: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// securedChannel has alice (an officer) create the triage channel with
// +snk, as a team would before inviting the bot.
func securedChannel(t testing.TB, n *ircnet.Network) *ircnet.Client {
	t.Helper()
	alice := ircnet.Dial(t, n.Addr(), "alice", ircnet.ClientOptions{Account: "alice", Password: password + "alice",
		Caps: []string{"account-tag", "extended-join", "message-tags", "server-time"}})
	alice.Join(channel, "")
	alice.Expect(t, wait, ircnet.Cmd("JOIN", channel))
	alice.Mode(channel, "+snk", chanKey)
	alice.Expect(t, wait, ircnet.Cmd("MODE", channel))
	return alice
}

// joinAs connects a client and joins the triage channel with the key.
func joinAs(t testing.TB, n *ircnet.Network, nick string, opts ircnet.ClientOptions) *ircnet.Client {
	t.Helper()
	c := ircnet.Dial(t, n.Addr(), nick, opts)
	c.Join(channel, chanKey)
	c.Expect(t, wait, ircnet.Cmd("JOIN", channel))
	return c
}

// sasl is the client options for an account's own login.
func sasl(account string) ircnet.ClientOptions {
	return ircnet.ClientOptions{Account: account, Password: password + account}
}

// fromBot matches lines the bot sent with this command to target.
func fromBot(command, target string) func(ircnet.Line) bool {
	return func(l ircnet.Line) bool {
		return l.Nick() == botNick && l.Command == command && l.Param(0) == target
	}
}

// syncBuffer is a log sink safe for the bot's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// wireLen is a line's length as the server sent it, without its IRCv3 tags
// (which have their own budget) and with CR LF: the 512-byte rule.
func wireLen(l ircnet.Line) int {
	raw := l.Raw
	if strings.HasPrefix(raw, "@") {
		_, raw, _ = strings.Cut(raw, " ")
	}
	return len(raw) + 2
}
