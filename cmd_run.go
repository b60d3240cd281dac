package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sectriage/sectriage/bot"
)

// cmdRun is the daemon: it runs until SIGTERM/SIGINT and stops gracefully,
// leaving undelivered messages in the outbox for the next start.
func cmdRun(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "sectriage.toml", "config file")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, ok := loadConfig(*configPath, stderr)
	if !ok {
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	a, err := openApp(ctx, cfg, log, appOptions{})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	defer a.Close()

	// Everything that can fail on bad settings is built before anything runs.
	var runners []func(context.Context) error
	if cfg.Email.SMTP != nil {
		mailer, err := newMailer(cfg, a.intake, log)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		}
		a.outbox.Register(bot.PlatformEmail, mailer)
	}
	if a.intake != nil {
		runners = append(runners, a.intake.run)
		if cfg.Email.IMAP != nil {
			src, err := newIMAP(cfg, a.intake.intake, log)
			if err != nil {
				fmt.Fprintln(stderr, "sectriage:", err)
				return exitFailed
			}
			runners = append(runners, src.Run)
		}
	}
	if cfg.Server.Listen != "" {
		mux := http.NewServeMux()
		mux.Handle("/healthz", healthz(a))
		if err := intakeHandlers(mux, a, time.Now()); err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		}
		runners = append(runners, func(ctx context.Context) error { return serveHTTP(ctx, cfg.Server.Listen, mux, log) })
	}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.outbox.Run(ctx) })
	for _, r := range runners {
		g.Go(func() error { return r(ctx) })
	}
	log.Info("sectriage running", "version", version(), "database", a.db.Path(), "intake", a.intake != nil)
	if err := g.Wait(); err != nil {
		log.Error("stopped with an error", "err", err)
		return exitFailed
	}
	log.Info("sectriage stopped")
	return exitOK
}
