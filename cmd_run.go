package main

import (
	"context"
	"flag"
	"fmt"
	"io"

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
	a, err := openApp(ctx, cfg, log, appOptions{})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	defer a.Close()

	g, ctx := errgroup.WithContext(ctx)
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
