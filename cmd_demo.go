package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sectriage/sectriage/adapters/console"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/schedule"
	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

//go:embed demo.toml
var demoConfig []byte

const sampleReport = `Subject: Heap overflow in the SIP parser

Hello security team,

sending a REGISTER with a Via header longer than 65535 bytes makes the
parser write past the end of its buffer (parse_via.c:214). A proof of
concept is attached; it crashes 5.8.0 and the current master.

Please credit "R. Porter". I plan to publish in 90 days.
`

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// cmdDemo runs sectriage locally: a temporary database, a throw-away team
// key, a sample encrypted report, and the console chat as alice, an
// officer. With input from a pipe it runs the commands and exits.
func cmdDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: sectriage demo   (commands come from standard input)")
		return exitUsage
	}
	dir, err := os.MkdirTemp("", "sectriage-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	defer os.RemoveAll(dir)

	cfg, err := config.Parse(demoConfig, filepath.Join(dir, "demo.toml"))
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintln(stderr, "sectriage demo: built-in config:", err)
		return exitFailed
	}
	clock := bot.NewManualClock(time.Now().UTC().Truncate(time.Minute))
	key, err := teamkey.Generate("Demo Security Team", "security@demo.invalid", clock.Now())
	if err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	reports := &storedReports{key: key}
	a, err := openApp(ctx, cfg, discardLogger(), appOptions{clock: clock, platforms: []string{bot.PlatformConsole}, reports: reports})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	defer a.Close()
	reports.db = a.db

	if err := a.reg.Add(advanceCommand(clock, a.sched)); err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	alice := bot.Actor{Person: a.svc.Settings().People.ByName("alice"), Platform: bot.PlatformConsole}
	interactive := isTerminal(stdin)
	con := console.New(a.reg, alice, stdin, stdout, interactive)
	a.outbox.Register(bot.PlatformConsole, con)
	con.AfterCommand = func(ctx context.Context) { a.outbox.Flush(ctx) }

	fmt.Fprintf(stdout, "sectriage demo: you are alice, a security officer. Team key %s (throw-away).\n", key.Fingerprint())
	if err := seedDemo(ctx, a, key, clock); err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	a.outbox.Flush(ctx)
	if interactive {
		fmt.Fprintln(stdout, "Type help for the commands, advance 49h to move the clock, Ctrl-D to leave.")
	}
	if err := con.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	return exitOK
}

// seedDemo stores the sample report encrypted to the team key, as a
// reporter would have sent it, and opens its incident.
func seedDemo(ctx context.Context, a *app, key *teamkey.Key, clock bot.Clock) error {
	ciphertext, err := key.Encrypt([]byte(sampleReport))
	if err != nil {
		return err
	}
	id, _, err := a.db.StoreReport(ctx, "demo", "<sample-1@reporter.example>", ciphertext, clock.Now())
	if err != nil {
		return err
	}
	_, err = a.svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{
		Title: "Heap overflow in the SIP parser", Reporter: "r.porter@reporter.example",
		ReportID: id, Encrypted: true, Detail: "sample report (demo)",
	})
	return err
}

// advanceCommand is the demo-only command that moves the demo clock and
// then runs, synchronously and in order, the scheduled jobs (sweep,
// reminders, digest) that would have fired meanwhile; the console prints
// what they queued after the reply.
func advanceCommand(clock *bot.ManualClock, sched *schedule.Scheduler) commands.Command {
	return commands.Command{
		Name: "advance", Args: "<duration>", Summary: "demo only: move the clock forward (e.g. 49h, 3d) and run what was scheduled",
		MinArgs: 1, MaxArgs: 1,
		Handler: commands.HandlerFunc(func(ctx context.Context, req *commands.Request) (commands.Reply, error) {
			d, err := bot.ParseDuration(req.Args[0])
			if err != nil {
				return commands.Reply{}, bot.Errorf(bot.KindInvalid, "%s", err.Error())
			}
			from := clock.Now()
			now := clock.Advance(d)
			ran, err := sched.RunDue(ctx, from, now)
			if err != nil {
				return commands.Reply{}, err
			}
			text := "The clock is now " + bot.FormatTime(now, req.Actor.Location()) + "."
			if len(ran) > 0 {
				text += " Ran: " + strings.Join(ran, ", ") + "."
			}
			return commands.Reply{Text: bot.PlainText(text)}, nil
		}),
	}
}

// storedReports decrypts a stored report when it is shown.
type storedReports struct {
	db  *storage.DB
	key *teamkey.Key
}

func (r *storedReports) ReportBody(ctx context.Context, incidentID int64) (bot.Text, error) {
	inc, err := r.db.Incident(ctx, incidentID)
	if err != nil {
		return bot.Text{}, err
	}
	rep, err := r.db.Report(ctx, inc.ReportID)
	if err != nil {
		return bot.Text{}, err
	}
	body, err := r.key.DecryptSimple(rep.Raw, 1<<20)
	if err != nil {
		return bot.Text{}, err
	}
	var t bot.Text
	t.Block(string(body))
	return t, nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
