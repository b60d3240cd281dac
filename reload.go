package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/schedule"
)

// reloader applies a changed config file to the running daemon when main
// passes on a SIGHUP. What the domain reads through the service (people,
// SIGs, rotations, routing, deadlines, escalation, the time zone), the
// schedules, the log level and the listener's certificate change in place;
// chat and mail connections stay up. Sections that are wired into
// connections, files or the listener at start are reported as needing a
// restart. An invalid file changes nothing.
type reloader struct {
	path     string
	log      *slog.Logger
	level    *slog.LevelVar
	svc      *bot.Service
	sched    *schedule.Scheduler
	duty     *bot.Duty
	cert     *certificate // nil: no TLS
	observe  func(applied bool, at time.Time)
	startCfg *config.Config // what the restart-only sections run with
	// refresh is told after new settings are in force: adapters that
	// resolved the people at start resolve them again.
	refresh []func(ctx context.Context) error
}

// Run reloads on every signal until ctx ends.
func (r *reloader) Run(ctx context.Context, signals <-chan os.Signal) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-signals:
			if err := r.reload(ctx); err != nil {
				r.refused(ctx, err)
			}
		}
	}
}

// reload reads, validates and applies the file. Everything that can fail
// is done before the first change.
func (r *reloader) reload(ctx context.Context) error {
	r.log.Info("reloading the configuration", "file", r.path)
	cfg, err := config.Load(r.path)
	if err != nil {
		return err
	}
	running := r.svc.Settings()
	// The platforms, reporter mail and bridge stay as started: they follow
	// the adapters, which only a restart adds, removes or reconfigures.
	settings, err := cfg.Settings(running.Platforms)
	if err != nil {
		return err
	}
	settings.ReporterMail, settings.Bridge = running.ReporterMail, running.Bridge
	settings.NotifyReporter = running.NotifyReporter // [intake] needs a restart
	var pair *tlsPair
	if r.cert != nil {
		if pair, err = r.cert.load(); err != nil {
			return err
		}
	}
	if err := r.sched.Replace(settings.Location, jobs(r.duty, cfg.Schedules, r.log)...); err != nil {
		return err
	}
	// From here on nothing fails.
	r.svc.SetSettings(settings)
	if pair != nil {
		r.cert.set(pair)
	}
	r.level.Set(logLevel(cfg.Log))
	for _, w := range cfg.Warnings() {
		r.log.Warn("config: "+w.Msg, "file", w.File, "line", w.Line, "key", w.Key)
	}
	restart := needsRestart(r.startCfg, cfg)
	for _, section := range restart {
		r.log.Warn("config reload: this section changed and needs a restart to take effect; until then the daemon runs with the old one",
			"section", section)
	}
	r.log.Info("configuration reloaded", "people", len(cfg.People), "sigs", len(cfg.SIGs),
		"needs_restart", strings.Join(restart, " "))
	if r.observe != nil {
		r.observe(true, time.Now())
	}
	for _, f := range r.refresh {
		if err := f(ctx); err != nil {
			// The new settings are in force; the adapter retries with
			// its next reconnect.
			r.log.Error("after the reload", "err", err)
		}
	}
	return nil
}

// refused reports a reload that changed nothing: in the log with every
// problem, and to the officers once per version of the broken file.
func (r *reloader) refused(ctx context.Context, err error) {
	r.log.Error("config reload refused; the running configuration stays", "file", r.path, "err", err)
	if r.observe != nil {
		r.observe(false, time.Now())
	}
	var first string
	n := 1
	var ps config.Problems
	if errors.As(err, &ps) && len(ps) > 0 {
		first, n = ps[0].String(), len(ps)
	} else {
		first = err.Error()
	}
	var t bot.Text
	t.Plain("The configuration could not be reloaded; sectriage runs on with the previous one. ")
	t.Plain(fmt.Sprintf("%d problem(s), the first: ", n)).Untrusted(first)
	t.Plain(". Run sectriage check on the file for the full list.")
	key := "config-reload|" + fileHash(r.path)
	if err := r.svc.AlertOfficers(ctx, key, t); err != nil {
		r.log.Error("could not alert the officers about the refused reload", "err", err)
	}
}

func fileHash(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unreadable"
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// needsRestart names the sections of next that differ from what the
// daemon started with and that a reload does not apply: they are wired
// into the database, connections, the intake pipeline or the listener.
func needsRestart(started, next *config.Config) []string {
	var out []string
	for _, s := range []struct {
		name      string
		old, next any
	}{
		{"[storage]", started.Storage, next.Storage},
		{"[log] format", started.Log.Format, next.Log.Format},
		{"[keys]", started.Keys, next.Keys},
		{"[intake]", started.Intake, next.Intake},
		{"[email]", started.Email, next.Email},
		{"[security_txt]", started.SecurityTxt, next.SecurityTxt},
		{"[server]", started.Server, next.Server},
		{"[mattermost]", started.Mattermost, next.Mattermost},
		{"[irc]", ircSection(started), ircSection(next)},
		{"[publication] (all but approvals and require_cve)", publicationOutputs(started), publicationOutputs(next)},
		{"[policy]", started.PolicyPage, next.PolicyPage},
	} {
		if !reflect.DeepEqual(s.old, s.next) {
			out = append(out, s.name)
		}
	}
	return out
}

// ircSection is the [irc] section, or nil when the file has none (the section's
// defaults are filled in either way).
func ircSection(c *config.Config) any {
	if !c.IRCEnabled() {
		return nil
	}
	return c.IRC
}

// publicationOutputs is [publication] without what the service checks
// (approvals, require_cve), which reloads: the rest is the publisher's,
// built at start.
func publicationOutputs(c *config.Config) any {
	if c.Publication == nil {
		return nil
	}
	p := *c.Publication
	p.Approvals, p.RequireCVE = 0, false
	return p
}
