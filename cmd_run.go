package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"golang.org/x/sync/errgroup"
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
	var platforms []string
	var ircOpts irc.Options
	var err error
	if cfg.IRCEnabled() {
		platforms = append(platforms, bot.PlatformIRC)
		if ircOpts, err = ircOptions(cfg); err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitUsage
		}
	}
	a, err := openApp(ctx, cfg, log, appOptions{platforms: platforms})
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
	g.Go(func() error { return a.outbox.Run(ctx) })
	log.Info("sectriage running", "version", version(), "database", a.db.Path())
	if err := g.Wait(); err != nil {
		log.Error("stopped with an error", "err", err)
		return exitFailed
	}
	log.Info("sectriage stopped")
	return exitOK
}
