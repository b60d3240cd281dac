package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"

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

	g, ctx := errgroup.WithContext(ctx)
	if cfg.IRCEnabled() {
		// Reports stays nil until the intake pipeline provides the reader:
		// new incidents are then announced without the report body.
		adapter := irc.New(ircOpts, irc.Deps{Service: a.svc, Commands: a.reg, Outbox: a.outbox}, log)
		a.outbox.Register(bot.PlatformIRC, adapter)
		g.Go(func() error { return adapter.Run(ctx) })
	}
	mounts := map[string]http.Handler{}
	if cfg.Mattermost.Enabled() {
		opts, err := mattermostOptions(cfg, true)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitUsage
		}
		// The report body in the new-incident post comes from the intake
		// pipeline's ReportReader; until it is wired, posts carry none.
		mm, err := mattermost.New(opts, a.svc, a.reg, a.db, nil, log)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitUsage
		}
		a.outbox.Register(bot.PlatformMattermost, mm)
		mounts["/mattermost/"] = mm.Handler()
		g.Go(func() error { return mm.Run(ctx) })
	}
	if cfg.Server.Enabled() {
		g.Go(func() error { return serveHTTP(ctx, cfg.Server, newMux(mounts), log) })
	}
	g.Go(func() error { return a.outbox.Run(ctx) })
	g.Go(func() error { return a.sched.Run(ctx) })
	log.Info("sectriage running", "version", version(), "database", a.db.Path())
	if err := g.Wait(); err != nil {
		log.Error("stopped with an error", "err", err)
		return exitFailed
	}
	log.Info("sectriage stopped")
	return exitOK
}
