package schedule_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/schedule"
	"github.com/sectriage/sectriage/storage"
)

var update = flag.Bool("update", false, "rewrite testdata/month.golden with what the simulation produces now")

// simConfig is the team of the simulation. core hands off on Mondays at
// 09:00 Berlin (07:00 UTC in summer time, 08:00 UTC after 25 October), web
// daily at 09:00 New York (13:00 UTC, 14:00 UTC after 1 November).
const simConfig = `
timezone = "UTC"
[storage]
path = "sim.db"

[[people]]
name = "alice"
role = "officer"
mattermost = "alice"
irc_account = "alice"
timezone = "Europe/Berlin"
quiet_hours = "22:00-07:00"

[[people]]
name = "carol"
role = "officer"
irc_account = "carol"
timezone = "America/New_York"

[[people]]
name = "bob"
role = "member"
mattermost = "bob"
timezone = "Europe/Berlin"
quiet_hours = "22:00-07:00"

[[people]]
name = "erin"
role = "member"
mattermost = "erin"
irc_account = "erin"

[[people]]
name = "dave"
role = "member"
mattermost = "dave"
timezone = "America/New_York"
quiet_hours = "23:00-07:00"

[[people]]
name = "frank"
role = "member"
irc_account = "frank"
timezone = "Asia/Tokyo"

[officers]
rotation = { every = "weekly", handoff = "Mon 09:00", members = ["alice", "carol"], start = "2026-10-12" }

[[sigs]]
name = "core"
default = true
lead = "bob"
deputies = ["dave", "erin"]
contacts = ["bob", "erin"]
rotation = { every = "weekly", handoff = "Mon 09:00", timezone = "Europe/Berlin", members = ["bob", "erin"], start = "2026-10-12" }

[[sigs]]
name = "web"
lead = "dave"
deputies = ["frank"]
contacts = ["dave", "frank"]
rotation = { every = "daily", handoff = "09:00", timezone = "America/New_York", members = ["dave", "frank"], start = "2026-10-12" }
deadlines = { acknowledge = "24h" }

[schedules]
sweep = "@every 5m"
reminders = "CRON_TZ=UTC 0 9 * * MON-FRI"
digest = "CRON_TZ=UTC 0 8 * * *"
`

// simStep is something that happens at a moment: a report arrives, or a
// person runs a command.
type simStep struct {
	at     string // UTC, "2006-01-02 15:04"
	as     string // who runs cmd
	cmd    string
	report *bot.NewIncident
}

var month = []simStep{
	{at: "2026-10-12 10:00", report: &bot.NewIncident{Title: "Heap overflow in the SIP parser", Encrypted: true}},
	{at: "2026-10-12 10:40", as: "bob", cmd: "claim 1"},
	{at: "2026-10-13 15:00", report: &bot.NewIncident{Title: "Stored XSS in the admin UI", SIG: "web", Encrypted: true}},
	{at: "2026-10-14 09:30", as: "bob", cmd: "confirm 1"},
	{at: "2026-10-14 09:31", as: "bob", cmd: "severity 1 high"},
	{at: "2026-10-14 09:32", as: "bob", cmd: "embargo 1 2026-10-30T00:00Z"},
	// web's acknowledge deadline passes at 15:00; the chain runs until frank acts.
	{at: "2026-10-15 06:10", as: "frank", cmd: "ack 2"},
	// A critical report in the middle of bob's night: quiet hours do not hold it back.
	{at: "2026-10-16 22:30", report: &bot.NewIncident{Title: "Remote code execution via crafted INVITE", Severity: bot.SeverityCritical, Encrypted: true}},
	{at: "2026-10-17 07:30", as: "erin", cmd: "oncall core"},
	{at: "2026-10-17 08:00", as: "erin", cmd: "claim 3"},
	// Monday 19 October: erin's week in core. bob goes on holiday; what he
	// holds goes to core's first deputy, dave.
	{at: "2026-10-19 08:00", as: "bob", cmd: "away bob until 2026-10-24"},
	{at: "2026-10-20 12:00", report: &bot.NewIncident{Title: "Crash on malformed SDP body", Encrypted: true}},
	{at: "2026-10-21 09:00", as: "alice", cmd: "cover core dave from 2026-10-22 until 2026-10-24"},
	{at: "2026-10-21 12:00", as: "dave", cmd: "note 1 patch under review"},
	// After a week of escalations on SEC-2, an officer steps in.
	{at: "2026-10-21 14:00", as: "alice", cmd: "assign 2 frank"},
	{at: "2026-10-22 01:00", as: "frank", cmd: "confirm 2"},
	{at: "2026-10-22 09:00", as: "erin", cmd: "confirm 3"},
	{at: "2026-10-23 09:00", as: "dave", cmd: "snooze 4 1d"},
	{at: "2026-10-24 10:00", as: "dave", cmd: "claim 4"},
	// Europe leaves summer time on Sunday 25 October: Monday's hand-off is
	// 09:00 in Berlin, 08:00 UTC.
	{at: "2026-10-26 07:30", as: "erin", cmd: "oncall core at 2026-10-26T07:59Z"},
	{at: "2026-10-26 07:31", as: "erin", cmd: "oncall core at 2026-10-26T08:00Z"},
	{at: "2026-10-26 10:00", as: "bob", cmd: "handover core erin"},
	{at: "2026-10-28 12:00", as: "erin", cmd: "accept handover"},
	{at: "2026-10-29 10:00", as: "dave", cmd: "fixed 1 --before-embargo 5.8.1 released"}, // the release went out 10 h early, by agreement,
	{at: "2026-10-29 10:05", as: "dave", cmd: "confirm 4"},
	{at: "2026-10-30 01:30", as: "frank", cmd: "note 2 fix in review, release next week"},
	{at: "2026-10-30 09:30", as: "alice", cmd: "due 3 fix 2026-11-06"},
	{at: "2026-10-30 15:00", as: "dave", cmd: "away dave from 2026-11-02 until 2026-11-05"},
	// The US leaves summer time on Sunday 1 November: web hands off at 14:00 UTC.
	{at: "2026-11-01 12:00", as: "frank", cmd: "oncall web at 2026-11-02T13:59Z"},
	{at: "2026-11-01 12:01", as: "frank", cmd: "oncall web at 2026-11-02T14:00Z"},
	{at: "2026-11-02 15:00", report: &bot.NewIncident{Title: "CSRF on the password form", SIG: "web", Encrypted: true}},
	{at: "2026-11-03 16:00", as: "frank", cmd: "claim 5"},
	{at: "2026-11-04 09:00", as: "alice", cmd: "close 1 fixed"},
	{at: "2026-11-05 09:00", as: "erin", cmd: "close 3 wontfix"},
	{at: "2026-11-06 09:00", as: "frank", cmd: "reject 5 not reproducible"},
	{at: "2026-11-06 11:00", as: "erin", cmd: "note 4 waiting for the upstream fix"},
	{at: "2026-11-09 09:00", as: "dave", cmd: "reject 2 duplicate of an old report"},
	{at: "2026-11-09 09:01", as: "frank", cmd: "reject 2 duplicate of an old report"},
	{at: "2026-11-10 09:00", as: "erin", cmd: "close 4 wontfix"},
}

// TestMonthSimulation plays a month of simulated time: reports arriving,
// claims, covers, an absence, a hand-over, snoozes and two DST changes,
// with the scheduled jobs run every five simulated minutes exactly as the
// daemon's scheduler would. Every message sent is listed with its time and
// recipient in testdata/month.golden.
func TestMonthSimulation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(simConfig), filepath.Join(dir, "sim.toml"))
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	settings, err := cfg.Settings([]string{bot.PlatformMattermost, bot.PlatformIRC})
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(ctx, cfg.Resolve(cfg.Storage.Path), discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start, end := time.Date(2026, 10, 12, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	clock := bot.NewManualClock(start)
	svc := bot.NewService(db, clock, discard(), settings)
	duty := bot.NewDuty(svc, db, discard())
	svc.SetRoster(duty)
	reg, err := commands.New(svc, discard(), commands.Options{Duty: duty})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := schedule.New(discard(), settings.Location,
		schedule.Job{Name: "sweep", Spec: cfg.Schedules.Sweep, Run: func(ctx context.Context) error { _, err := duty.Sweep(ctx); return err }},
		schedule.Job{Name: "reminders", Spec: cfg.Schedules.Reminders, Run: func(ctx context.Context) error { _, err := duty.Reminders(ctx); return err }},
		schedule.Job{Name: "digest", Spec: cfg.Schedules.Digest, Run: duty.Digest},
	)
	if err != nil {
		t.Fatal(err)
	}
	var out transcript
	outbox := bot.NewOutbox(db, clock, discard())
	for _, p := range settings.Platforms {
		outbox.Register(p, bot.DeliverFunc(func(_ context.Context, m bot.OutboxMessage) error {
			out.message(clock.Now(), m)
			return nil
		}))
	}
	flush := func() {
		if err := outbox.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		out.endBatch()
	}

	steps := month
	prev := start
	for now := start.Add(5 * time.Minute); !now.After(end); now = now.Add(5 * time.Minute) {
		for len(steps) > 0 && !parseUTC(t, steps[0].at).After(now) {
			s := steps[0]
			steps = steps[1:]
			clock.Set(parseUTC(t, s.at))
			if s.report != nil {
				inc, err := svc.OpenIncident(ctx, bot.SystemActor(), *s.report)
				if err != nil {
					t.Fatal(err)
				}
				out.line(clock.Now(), fmt.Sprintf("report %s arrives for SIG %s: %s", inc.Name(), inc.SIG, inc.Title))
			} else {
				actor := bot.Actor{Person: settings.People.ByName(s.as), Platform: bot.PlatformCLI}
				reply := reg.Run(ctx, actor, s.cmd, true)
				text := bot.RenderPlain(reply.Text)
				if reply.Failed {
					text = "error: " + text
				}
				out.line(clock.Now(), s.as+"> "+s.cmd)
				out.block(text)
			}
			flush()
		}
		clock.Set(now)
		if _, err := sched.RunDue(ctx, prev, now); err != nil {
			t.Fatal(err)
		}
		flush()
		prev = now
	}
	if len(steps) > 0 {
		t.Fatalf("%d steps after the end of the simulation", len(steps))
	}

	const golden = "testdata/month.golden"
	got := out.String()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); run go test ./schedule -run Month -update to accept:\n%s", golden, diff)
	}
}

func parseUTC(t *testing.T, s string) time.Time {
	at, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// transcript writes the golden file: a header per day, then each command
// and reply and each message sent, with the time. A message sent the same
// way on several platforms is one line naming them all.
type transcript struct {
	b       strings.Builder
	day     string
	pending []sent
}

type sent struct {
	at        time.Time
	kind, to  string
	text      string
	platforms []string
}

func (tr *transcript) header(at time.Time) {
	if d := at.Format("Mon 2006-01-02"); d != tr.day {
		tr.day = d
		fmt.Fprintf(&tr.b, "\n== %s ==\n", d)
	}
}

func (tr *transcript) line(at time.Time, s string) {
	tr.endBatch()
	tr.header(at)
	fmt.Fprintf(&tr.b, "%s  %s\n", at.Format("15:04"), s)
}

func (tr *transcript) block(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(&tr.b, "       | %s\n", l)
	}
}

func (tr *transcript) message(at time.Time, m bot.OutboxMessage) {
	to := "@" + m.Dest.Person
	if m.Dest.Person == "" {
		to = "#" + m.Dest.Channel
		if m.IncidentID != 0 && m.Dest.Channel == bot.ChannelIncident {
			to += " " + bot.FormatID(m.IncidentID)
		}
	}
	s := sent{at: at, kind: m.Kind, to: to, text: strings.TrimRight(bot.RenderPlain(m.Text), "\n"), platforms: []string{m.Dest.Platform}}
	for i := range tr.pending {
		p := &tr.pending[i]
		if p.kind == s.kind && p.to == s.to && p.text == s.text {
			p.platforms = append(p.platforms, m.Dest.Platform)
			return
		}
	}
	tr.pending = append(tr.pending, s)
}

func (tr *transcript) endBatch() {
	for _, s := range tr.pending {
		tr.header(s.at)
		lines := strings.Split(s.text, "\n")
		fmt.Fprintf(&tr.b, "%s  %-10s %s (%s): %s\n", s.at.Format("15:04"), s.kind, s.to, strings.Join(s.platforms, ", "), lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&tr.b, "       %s\n", l)
		}
	}
	tr.pending = nil
}

func (tr *transcript) String() string {
	tr.endBatch()
	return strings.TrimPrefix(tr.b.String(), "\n")
}
