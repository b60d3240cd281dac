package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

// app is what every subcommand shares: the database, the service, the
// command registry and the outbox worker.
type app struct {
	cfg    *config.Config
	log    *slog.Logger
	db     *storage.DB
	svc    *bot.Service
	reg    *commands.Registry
	outbox *bot.Outbox
	// intake is the report pipeline; nil when no team key is configured.
	intake *intakeParts
}

// appOptions are the parts that differ between the daemon, the CLI and the
// demo.
type appOptions struct {
	clock     bot.Clock
	platforms []string // chat platforms that receive notices
	// teamKey, when set, is used instead of loading [keys] team_key_file
	// (the demo's throw-away key).
	teamKey *teamkey.Key
}

func openApp(ctx context.Context, cfg *config.Config, log *slog.Logger, opts appOptions) (*app, error) {
	if opts.clock == nil {
		opts.clock = bot.SystemClock{}
	}
	db, err := storage.Open(ctx, cfg.Resolve(cfg.Storage.Path), log)
	if err != nil {
		return nil, err
	}
	settings, err := cfg.Settings(opts.platforms)
	if err != nil {
		db.Close()
		return nil, err
	}
	svc := bot.NewService(db, opts.clock, log, settings)
	var parts *intakeParts
	var reports commands.ReportReader
	key := opts.teamKey
	if key == nil && cfg.Keys.TeamKeyFile != "" {
		if key, err = loadTeamKey(cfg); err != nil {
			db.Close()
			return nil, err
		}
	}
	if key != nil {
		if parts, err = buildIntake(cfg, db, svc, key, log); err != nil {
			db.Close()
			return nil, err
		}
		reports = parts.intake
	}
	reg, err := commands.New(svc, log, commands.Options{Reports: reports})
	if err != nil {
		db.Close()
		return nil, err
	}
	outbox := bot.NewOutbox(db, opts.clock, log)
	svc.OnEnqueue(outbox.Wake)
	return &app{cfg: cfg, log: log, db: db, svc: svc, reg: reg, outbox: outbox, intake: parts}, nil
}

func (a *app) Close() error { return a.db.Close() }

// newLogger builds the logger the config asks for.
func newLogger(c config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(c.Level))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadConfig reads the config named by -config, printing every problem.
func loadConfig(path string, stderr io.Writer) (*config.Config, bool) {
	if path == "" {
		fmt.Fprintln(stderr, "sectriage: -config is required (see config.example.toml)")
		return nil, false
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	return cfg, true
}
