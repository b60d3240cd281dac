package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/publication"
	"github.com/sectriage/sectriage/schedule"
	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

// app is what every subcommand shares: the database, the service, the
// roster, the command registry, the outbox worker and the scheduler.
type app struct {
	cfg    *config.Config
	log    *slog.Logger
	db     *storage.DB
	svc    *bot.Service
	duty   *bot.Duty
	reg    *commands.Registry
	outbox *bot.Outbox
	sched  *schedule.Scheduler
	// intake is the report pipeline.
	intake *intakeParts
	// pub runs publications; nil without [publication].
	pub *publication.Publisher
	// quarantine is the officers' desk of rejected messages.
	quarantine *bot.QuarantineDesk
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
	key := opts.teamKey
	if key == nil {
		var err error
		if key, err = requireTeamKey(cfg); err != nil {
			return nil, err
		}
	}
	db, err := openDatabase(ctx, cfg, key, log)
	if err != nil {
		return nil, err
	}
	settings, err := cfg.Settings(opts.platforms)
	if err != nil {
		db.Close()
		return nil, err
	}
	svc := bot.NewService(db, opts.clock, log, settings)
	parts, err := buildIntake(cfg, db, svc, key, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	desk := bot.NewQuarantineDesk(parts.intake, db, cfg.Intake.QuarantineRetention.Duration, log)
	var reports commands.ReportReader = parts.intake
	status := parts.intake.StatusStore()
	duty := bot.NewDuty(svc, db, log)
	svc.SetRoster(duty)
	a := &app{cfg: cfg, log: log, db: db, svc: svc, duty: duty, intake: parts, quarantine: desk}
	copts := commands.Options{Reports: reports, Duty: duty, Quarantine: desk, Status: status}
	all := append(jobs(duty, cfg.Schedules, log), quarantineJobs(desk)...)
	if a.pub, err = buildPublisher(cfg, a, key, log); err != nil {
		db.Close()
		return nil, err
	}
	if a.pub != nil {
		copts.Publisher = a.pub
		all = append(all, publicationJob(duty, a.pub, cfg.Schedules.Sweep))
	}
	reg, err := commands.New(svc, log, copts)
	if err != nil {
		db.Close()
		return nil, err
	}
	sched, err := schedule.New(log, settings.Location, all...)
	if err != nil {
		db.Close()
		return nil, err
	}
	outbox := bot.NewOutbox(db, opts.clock, log)
	svc.OnEnqueue(outbox.Wake)
	a.reg, a.outbox, a.sched = reg, outbox, sched
	return a, nil
}

// errNoTeamKey explains why nothing runs without a team key.
var errNoTeamKey = errors.New("no team key ([keys] team_key_file): sectriage seals everything confidential it stores " +
	"(titles, notes, replies, messages, reporters) with a data key wrapped to the team key, and stores nothing without it; " +
	"configure the team key (README, Setting up), or try `sectriage demo`, which makes a throw-away one")

// requireTeamKey loads the team key, which every command that reads or
// writes incidents needs.
func requireTeamKey(cfg *config.Config) (*teamkey.Key, error) {
	if cfg.Keys.TeamKeyFile == "" {
		return nil, errNoTeamKey
	}
	return loadTeamKey(cfg)
}

// openDatabase opens the database and unlocks its data key with the team
// key (the first time: makes the key and seals what is stored).
func openDatabase(ctx context.Context, cfg *config.Config, key *teamkey.Key, log *slog.Logger) (*storage.DB, error) {
	db, err := storage.Open(ctx, cfg.Resolve(cfg.Storage.Path), log)
	if err != nil {
		return nil, err
	}
	if err := db.Unlock(ctx, key); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// jobs are the periodic jobs of [schedules]: each asks the roster to
// decide and queue what is due now.
func jobs(duty *bot.Duty, sc config.SchedulesConfig, log *slog.Logger) []schedule.Job {
	return []schedule.Job{
		{Name: "sweep", Spec: sc.Sweep, AtStart: true, Run: func(ctx context.Context) error {
			rep, err := duty.Sweep(ctx)
			if rep.Reassigned > 0 || rep.Pinged > 0 || rep.Held > 0 {
				log.Info("sweep", "incidents", rep.Incidents, "read_all", rep.All, "reassigned", rep.Reassigned, "pinged", rep.Pinged, "held_for_quiet_hours", rep.Held)
			}
			return err
		}},
		{Name: "reminders", Spec: sc.Reminders, Run: func(ctx context.Context) error {
			n, err := duty.Reminders(ctx)
			log.Info("reminders", "people", n)
			return err
		}},
		{Name: "digest", Spec: sc.Digest, Run: duty.Digest},
	}
}

// quarantineJobs deletes dropped quarantine entries once their retention
// period has passed; none without intake.
func quarantineJobs(desk *bot.QuarantineDesk) []schedule.Job {
	if desk == nil {
		return nil
	}
	return []schedule.Job{{Name: "quarantine-purge", Spec: "@every 1h", AtStart: true, Run: desk.Purge}}
}

func (a *app) Close() error { return a.db.Close() }

// chatPlatforms are the chat platforms the config sets up: they receive
// the notices and pings of every change, whichever process makes it.
func chatPlatforms(cfg *config.Config) []string {
	var out []string
	if cfg.IRCEnabled() {
		out = append(out, bot.PlatformIRC)
	}
	if cfg.Mattermost.Enabled() {
		out = append(out, bot.PlatformMattermost)
	}
	return out
}

// newLogger builds the logger the config asks for.
func newLogger(c config.LogConfig, w io.Writer) *slog.Logger {
	log, _ := newLevelLogger(c, w)
	return log
}

// newLevelLogger is newLogger with its level in a variable, which a
// reload sets.
func newLevelLogger(c config.LogConfig, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(logLevel(c))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), level
	}
	return slog.New(slog.NewTextHandler(w, opts)), level
}

func logLevel(c config.LogConfig) slog.Level {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(c.Level))); err != nil {
		level = slog.LevelInfo
	}
	return level
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
