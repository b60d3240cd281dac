package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/control"
	"github.com/sectriage/sectriage/teamkey"
)

// cmdIngest reads one message on standard input, as an MTA delivers it
// (Postfix pipe, Exim pipe transport, procmail), and runs it through the
// intake pipeline. It exits 0 only once the message's incident or
// quarantine entry is committed. Every failure, a bad flag or config
// included, exits 75 (EX_TEMPFAIL): the MTA keeps the message and tries
// again, while a bounce would hand the report back to the sender. A
// revoked or expired team key is the exception: the message is held in
// the database until the key is rotated (holdMessage).
func cmdIngest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, configPath := newFlags("ingest")
	verbose := fs.Bool("v", false, "say whether the running daemon or this process stores the message")
	if code, done := parseFlags(fs, args, stdout, stderr, exitTempErr); done {
		return code
	}
	if fs.NArg() > 0 {
		usageError(stderr, mustSubcommand("ingest"))
		return exitTempErr
	}
	cfg, ok := loadConfig(*configPath, stderr)
	if !ok {
		return exitTempErr
	}
	log := newLogger(cfg.Log, stderr).With("command", "ingest")
	sub, err := readSubmission(stdin, int64(cfg.Intake.MaxMessageSize))
	if err != nil {
		fmt.Fprintln(stderr, "sectriage ingest: reading the message:", err)
		return exitTempErr
	}
	// The running daemon stores it if there is one; it holds the key.
	socket := controlSocket(cfg)
	res, err := control.NewClient(socket).Ingest(ctx, sub)
	if viaDaemon(err, *verbose, socket, stderr) {
		if err != nil {
			log.Error("the daemon did not confirm the message; the MTA will retry", "err", err)
			return exitTempErr
		}
		printIngested(stdout, res)
		return exitOK
	}
	// The chat platforms of the config, so the new incident is queued for
	// them: the running daemon's outbox posts what this process commits.
	a, err := openApp(ctx, cfg, log, appOptions{platforms: chatPlatforms(cfg)})
	if errors.Is(err, teamkey.ErrUnusable) {
		// Permanent until the key is rotated: hold the message rather than
		// have the MTA retry it until it bounces.
		log.Error("the current team key is unusable; holding the message until it is rotated", "err", err)
		id, dup, err := holdMessage(ctx, cfg, sub, log)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage ingest: the current team key is unusable and the message could not be held:", err)
			return exitTempErr
		}
		if dup {
			fmt.Fprintf(stdout, "report %d: received before\n", id)
		} else {
			fmt.Fprintf(stdout, "held report %d: the current team key is revoked or expired; rotate it (README, Rotating the team key) and `sectriage run` will process it\n", id)
		}
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "sectriage ingest:", err)
		return exitTempErr
	}
	defer a.Close()
	if a.intake == nil {
		fmt.Fprintln(stderr, "sectriage ingest: no team key ([keys] team_key_file): reports cannot be read; the message stays with the MTA")
		return exitTempErr
	}
	res, err = a.intake.intake.Receive(ctx, sub)
	if err != nil {
		log.Error("the message could not be stored; the MTA will retry", "err", err)
		return exitTempErr
	}
	printIngested(stdout, res)
	return exitOK
}

// printIngested says what became of the message.
func printIngested(stdout io.Writer, res bot.IntakeResult) {
	switch {
	case res.IncidentID != 0:
		fmt.Fprintln(stdout, bot.FormatID(res.IncidentID))
	default:
		fmt.Fprintf(stdout, "quarantined Q-%d (%s)\n", res.QuarantineID, res.Reason)
	}
}

// readSubmission reads a message of at most limit bytes. A larger one is
// read to its end (so the MTA sees it consumed) but only its beginning is
// kept, to name the sender in the quarantine entry.
func readSubmission(r io.Reader, limit int64) (bot.Submission, error) {
	sub := bot.Submission{Source: bot.SourcePipe}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return sub, err
	}
	if int64(len(raw)) <= limit {
		sub.Raw = raw
		return sub, nil
	}
	rest, err := io.Copy(io.Discard, r)
	if err != nil {
		return sub, err
	}
	head := raw[:min(int64(len(raw)), 256<<10)]
	sub.Raw, sub.Oversized, sub.Size = head, true, int64(len(raw))+rest
	return sub, nil
}
