package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/adapters/mattermost"
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
	var ircOpts irc.Options
	if cfg.IRCEnabled() {
		var err error
		if ircOpts, err = ircOptions(cfg); err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitUsage
		}
	}
	a, err := openApp(ctx, cfg, log, appOptions{platforms: chatPlatforms(cfg)})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	defer a.Close()

	// Everything that can fail on bad settings is built before anything runs.
	var runners []func(context.Context) error
	var reports mattermost.ReportReader // the decrypted body for new-incident posts
	if a.intake != nil {
		reports = a.intake.intake
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
	if cfg.Email.SMTP != nil {
		mailer, err := newMailer(cfg, a.intake, log)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		}
		a.outbox.Register(bot.PlatformEmail, mailer)
	}
	if cfg.IRCEnabled() {
		deps := irc.Deps{Service: a.svc, Commands: a.reg, Outbox: a.outbox}
		if reports != nil {
			deps.Reports = reports
		}
		adapter := irc.New(ircOpts, deps, log)
		a.outbox.Register(bot.PlatformIRC, adapter)
		runners = append(runners, adapter.Run)
	}
	mounts := map[string]http.Handler{}
	if cfg.Mattermost.Enabled() {
		opts, err := mattermostOptions(cfg, true)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitUsage
		}
		mm, err := mattermost.New(opts, a.svc, a.reg, a.db, reports, log)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitUsage
		}
		a.outbox.Register(bot.PlatformMattermost, mm)
		mounts["/mattermost/"] = mm.Handler()
		runners = append(runners, mm.Run)
	}
	if cfg.Server.Enabled() {
		mux := newMux(mounts)
		if err := intakeHandlers(mux, a, time.Now()); err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		}
		runners = append(runners, func(ctx context.Context) error { return serveHTTP(ctx, cfg.Server, mux, log) })
	}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.outbox.Run(ctx) })
	g.Go(func() error { return a.sched.Run(ctx) })
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
