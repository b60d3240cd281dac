package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
)

// runOptions are what main hands a subcommand besides its arguments.
type runOptions struct {
	// reload delivers SIGHUP to the daemon: re-read the config. main owns
	// the signal; tests send on a channel of their own. nil: no reloads.
	reload <-chan os.Signal
}

// cmdRun is the daemon: it runs until SIGTERM/SIGINT and stops gracefully,
// leaving undelivered messages in the outbox for the next start.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, ro runOptions) int {
	fs, configPath := newFlags("run")
	if code, done := parseFlags(fs, args, stdout, stderr, exitUsage); done {
		return code
	}
	if fs.NArg() > 0 {
		usageError(stderr, mustSubcommand("run"))
		return exitUsage
	}
	cfg, ok := loadConfig(*configPath, stderr)
	if !ok {
		return exitUsage
	}
	log, level := newLevelLogger(cfg.Log, stderr)
	d, err := openDaemon(ctx, cfg, log, daemonOptions{path: *configPath, level: level, reload: ro.reload})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		if errors.As(err, new(badSettings)) {
			return exitUsage
		}
		return exitFailed
	}
	defer d.Close()
	if err := d.Run(ctx); err != nil {
		return exitFailed // Run logged it
	}
	return exitOK
}

// server is one HTTP listener the daemon serves, by its config key.
type server struct {
	key, addr string
	h         http.Handler
	tls       *tls.Config
	log       *slog.Logger
}
