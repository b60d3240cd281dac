package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/adapters/mattermost"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/health"
	"github.com/sectriage/sectriage/metrics"
	"github.com/sectriage/sectriage/storage"
)

// The hooks the daemon's parts report through.
var (
	_ irc.Commands      = (*observedRunner)(nil)
	_ mattermost.Runner = (*observedRunner)(nil)
)

// observedRunner is the command registry with every command counted and
// timed: the one place every platform's commands pass.
type observedRunner struct {
	*commands.Registry
	m *metrics.Metrics
}

func (r *observedRunner) Run(ctx context.Context, actor bot.Actor, line string, private bool) commands.Reply {
	start := time.Now()
	reply := r.Registry.Run(ctx, actor, line, private)
	r.m.ObserveCommand(actor.Platform, reply.Failed, reply.Kind, time.Since(start))
	return reply
}

// statsSource reads the database's counts for a scrape. platforms are the ones with an adapter, each shown even with nothing
// pending.
func statsSource(db *storage.DB, platforms func() []string) metrics.Source {
	return func(ctx context.Context, now time.Time) (metrics.Snapshot, error) {
		s, err := db.Stats(ctx, now)
		if err != nil {
			return metrics.Snapshot{}, err
		}
		snap := metrics.Snapshot{OutboxHeldByPlatform: s.Outbox.HeldByPlatform,
			ReportsBySource: s.ReportsBySource, ReportsDecrypted: s.ReportsDecrypted,
			QuarantinedByReason: s.QuarantinedByReason, NagsByStep: s.NagsByStep, IncidentsByState: map[string]int{},
			OutboxPendingByPlatform: s.Outbox.PendingByPlatform, Platforms: platforms(),
			OutboxOldest: s.Outbox.OldestPending, OutboxDead: s.Outbox.Dead,
		}
		// Summed over SIGs here: the SIG of a confidential incident is
		// confidential too.
		for _, c := range s.Incidents {
			snap.IncidentsByState[c.State] += c.Count
		}
		for _, n := range s.OverdueBySIG {
			snap.Overdue += n
		}
		return snap, nil
	}
}

// databaseCheck: the database file takes a write.
func databaseCheck(db *storage.DB) health.Check {
	return health.Check{Name: "database", Run: func(ctx context.Context) error {
		if err := db.Ping(ctx); err != nil {
			return fmt.Errorf("not writable: %w", err)
		}
		return nil
	}}
}

// outboxCheck: messages leave the outbox. It is stuck when its oldest
// undelivered message is older than stuckAfter (an adapter has been down
// that long, or the worker stopped), or when a message was given up within
// stuckAfter (dead letters are growing: something refuses our messages).
func outboxCheck(db *storage.DB, stuckAfter time.Duration) health.Check {
	return health.Check{Name: "outbox", Run: func(ctx context.Context) error {
		s, err := db.OutboxStats(ctx)
		if err != nil {
			return fmt.Errorf("cannot read the outbox: %w", err)
		}
		now := time.Now()
		var errs []error
		if !s.OldestPending.IsZero() {
			if age := now.Sub(s.OldestPending); age > stuckAfter {
				errs = append(errs, fmt.Errorf("stuck: %d message(s) undelivered, the oldest for %s (server.outbox_stuck_after is %s)",
					s.Pending, age.Truncate(time.Second), stuckAfter))
			}
		}
		if !s.LastDead.IsZero() {
			if ago := now.Sub(s.LastDead); ago < stuckAfter {
				errs = append(errs, fmt.Errorf("a message was given up %s ago (%d dead letter(s) in all; see the log)",
					ago.Truncate(time.Second), s.Dead))
			}
		}
		return errors.Join(errs...)
	}}
}

// ircUsable: connected, in the triage channel, and the channel private
// (else nothing is posted there).
func ircUsable(a *irc.Adapter) error {
	st := a.Status()
	switch {
	case !st.Connected:
		return errors.New("not connected")
	case !st.Joined:
		return errors.New("not in the triage channel")
	case !st.Private:
		return fmt.Errorf("the triage channel fails the privacy rule, messages for it are held: %s", st.Refused)
	}
	return nil
}

// mattermostUsable: the start checks passed and the websocket is up.
func mattermostUsable(a *mattermost.Adapter) error {
	select {
	case <-a.Ready():
	default:
		return errors.New("not connected yet (the start checks have not passed; see the log)")
	}
	if !a.Connected() {
		return errors.New("the websocket is down")
	}
	return nil
}

// imapUsable: logged in with the mailbox selected.
func imapUsable(s *email.IMAP) error {
	if !s.Watching() {
		return errors.New("not logged in")
	}
	return nil
}

// watch makes an adapter's state a readiness check and a gauge.
func watch(ready *health.Readiness, m *metrics.Metrics, name string, usable func() error) {
	ready.Add(health.Check{Name: name, Run: func(context.Context) error { return usable() }})
	m.WatchAdapter(name, func() bool { return usable() == nil })
}
