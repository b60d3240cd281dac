package main

import (
	"context"
	_ "embed"
	"flag"
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
	"github.com/sectriage/sectriage/teamkey"
)

//go:embed demo.toml
var demoConfig []byte

// sampleReport is the demo's report: the text a reporter wrote, with the
// real subject as a protected header inside the encryption.
const sampleReport = `Content-Type: text/plain; charset=utf-8; protected-headers="v1"
Subject: Heap overflow in the SIP parser
From: R. Porter <r.porter@reporter.example>

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
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	if code, done := parseFlags(fs, args, stdout, stderr, exitUsage); done {
		return code
	}
	if fs.NArg() > 0 {
		usageError(stderr, mustSubcommand("demo"))
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
	// The published pages and records outlive the demo, to be looked at.
	site, err := os.MkdirTemp("", "sectriage-demo-site-")
	if err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	cfg.Publication.OutputDir = site
	clock := bot.NewManualClock(time.Now().UTC().Truncate(time.Minute))
	key, err := teamkey.Generate("Demo Security Team", "security@demo.invalid", clock.Now())
	if err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	a, err := openApp(ctx, cfg, discardLogger(), appOptions{clock: clock, platforms: []string{bot.PlatformConsole}, teamKey: key})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	defer a.Close()

	alice := bot.Actor{Person: a.svc.Settings().People.ByName("alice"), Platform: bot.PlatformConsole}
	interactive := isTerminal(stdin)
	con := console.New(a.reg, alice, stdin, stdout, interactive)
	for _, c := range []commands.Command{advanceCommand(clock, a.sched), asCommand(a.svc, con)} {
		if err := a.reg.Add(c); err != nil {
			fmt.Fprintln(stderr, "sectriage demo:", err)
			return exitFailed
		}
	}
	a.outbox.Register(bot.PlatformConsole, con)
	con.AfterCommand = func(ctx context.Context) { a.outbox.Flush(ctx) }

	fmt.Fprintf(stdout, "sectriage demo: you are alice, a security officer. Team key %s (throw-away).\n", key.Fingerprint())
	fmt.Fprintf(stdout, "Published advisories are written to %s (kept after the demo).\n", site)
	if err := seedDemo(ctx, a, key); err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	a.outbox.Flush(ctx)
	if interactive {
		fmt.Fprintln(stdout, "Type help for the commands, as bob to play bob, advance 49h to move the clock, Ctrl-D to leave.")
	}
	if err := con.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "sectriage demo:", err)
		return exitFailed
	}
	return exitOK
}

// seedDemo runs a sample report through the real intake pipeline: a
// PGP/MIME message encrypted to the throw-away team key, as a reporter's
// mail client would send it (made with go-crypto: the demo needs no gpg).
func seedDemo(ctx context.Context, a *app, key *teamkey.Key) error {
	raw, err := demoMessage(key)
	if err != nil {
		return err
	}
	res, err := a.intake.intake.Receive(ctx, bot.Submission{Source: bot.SourceDemo, Raw: raw})
	if err != nil {
		return err
	}
	if res.IncidentID == 0 {
		return fmt.Errorf("the sample report was quarantined: %s", res.Reason)
	}
	return nil
}

// demoMessage is an RFC 3156 multipart/encrypted mail of sampleReport.
func demoMessage(key *teamkey.Key) ([]byte, error) {
	armored, err := teamkey.EncryptTo([]byte(strings.ReplaceAll(sampleReport, "\n", "\r\n")), key.Entity(), nil)
	if err != nil {
		return nil, err
	}
	const boundary = "------------demo0123456789"
	var b strings.Builder
	b.WriteString("From: R. Porter <r.porter@reporter.example>\r\nTo: security@demo.invalid\r\nSubject: ...\r\n")
	b.WriteString("Message-ID: <sample-1@reporter.example>\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"" + boundary + "\"\r\n\r\n")
	b.WriteString("--" + boundary + "\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n")
	b.WriteString("--" + boundary + "\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n")
	b.WriteString(strings.ReplaceAll(string(armored), "\n", "\r\n"))
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return []byte(b.String()), nil
}

// advanceCommand is the demo-only command that moves the demo clock and
// then runs, synchronously and in order, the scheduled jobs (sweep,
// reminders, digest) that would have fired meanwhile; the console prints
// what they queued after the reply.
func advanceCommand(clock *bot.ManualClock, sched *schedule.Scheduler) commands.Command {
	return commands.Command{
		Name: "advance", Args: "<duration>", Summary: "demo only: move the clock forward (e.g. 49h, 3d) and run what was scheduled",
		Permission: bot.Member, MinArgs: 1, MaxArgs: 1,
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

// asCommand is the demo-only command that plays another member of the
// team, so what needs two people shows: a hand-over accepted, a refusal
// for someone who may not act, pings arriving for someone else.
func asCommand(svc *bot.Service, con *console.Console) commands.Command {
	return commands.Command{
		Name: "as", Args: "<person>", Summary: "demo only: act as another member of the team from now on",
		Permission: bot.Member, MinArgs: 1, MaxArgs: 1,
		Handler: commands.HandlerFunc(func(ctx context.Context, req *commands.Request) (commands.Reply, error) {
			people := svc.Settings().People
			p := people.ByName(req.Args[0])
			if p == nil {
				return commands.Reply{}, bot.Errorf(bot.KindNotFound, "There is no %q in the demo team; try %s.",
					bot.EscapeControl(req.Args[0], false), strings.Join(people.Names(), ", "))
			}
			con.SetActor(bot.Actor{Person: p, Platform: bot.PlatformConsole})
			return commands.Reply{Text: bot.PlainText(fmt.Sprintf("You are now %s, %s. Commands run as %s until the next as.",
				p.Name, roleText(p), p.Name))}, nil
		}),
	}
}

func roleText(p *bot.Person) string {
	if p.IsOfficer() {
		return "a security officer"
	}
	return "a member of the team"
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
