// Package schedule runs sectriage's periodic jobs (the escalation sweep,
// personal reminders, the daily digest) on robfig/cron schedules. The jobs
// decide nothing themselves: each calls into package bot, which decides
// from the state and the clock. The demo and tests run the same jobs
// synchronously with RunDue instead of waiting for wall-clock time.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
)

// Parse reads a cron schedule: five fields ("0 9 * * MON-FRI"), a
// descriptor ("@daily", "@every 5m"), either with an optional "CRON_TZ=Zone "
// prefix. Specs without a zone use the scheduler's location; "@every"
// ignores zones. Unlike cron's parser it never panics: "CRON_TZ=UTC" with
// nothing after it is an error, not a slice-bounds panic.
func Parse(spec string) (sched cron.Schedule, err error) {
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, fmt.Errorf("empty schedule")
	}
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 || strings.TrimSpace(s[i:]) == "" {
			return nil, fmt.Errorf("%q names a time zone but no schedule after it; write e.g. \"CRON_TZ=UTC 0 9 * * MON-FRI\"", spec)
		}
		// cron cuts at the first space only: normalise a tab or a run of
		// spaces after the zone.
		s = s[:i] + " " + strings.TrimSpace(s[i:])
	}
	defer func() {
		// cron's parser has panicked on input before; a config typo must
		// be an error, never a crash.
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("%q: not a schedule (%v)", spec, r)
		}
	}()
	sched, err = cron.ParseStandard(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %v (write 5 fields such as \"0 9 * * MON-FRI\", or @every 5m, @daily, ..., optionally after CRON_TZ=Zone)", spec, err)
	}
	return sched, nil
}

// Job is one periodic task.
type Job struct {
	Name string
	Spec string // see Parse; empty disables the job
	Run  func(ctx context.Context) error
	// AtStart runs the job once when the scheduler starts: a sweep then
	// catches up with what happened while sectriage was down.
	AtStart bool
}

type entry struct {
	Job
	sched cron.Schedule
}

// Scheduler runs jobs on their schedules.
type Scheduler struct {
	log     *slog.Logger
	changed chan struct{} // Replace tells Run to start over with the new jobs

	mu   sync.Mutex // guards loc and jobs, which Replace swaps
	loc  *time.Location
	jobs []entry
}

// New parses every job's schedule. loc is the zone for specs without
// CRON_TZ.
func New(log *slog.Logger, loc *time.Location, jobs ...Job) (*Scheduler, error) {
	entries, err := parseJobs(jobs)
	if err != nil {
		return nil, err
	}
	if loc == nil {
		loc = time.UTC
	}
	return &Scheduler{log: log.With("component", "schedule"), changed: make(chan struct{}, 1), loc: loc, jobs: entries}, nil
}

func parseJobs(jobs []Job) ([]entry, error) {
	var out []entry
	for _, j := range jobs {
		if strings.TrimSpace(j.Spec) == "" {
			continue
		}
		sched, err := Parse(j.Spec)
		if err != nil {
			return nil, fmt.Errorf("schedule %s: %w", j.Name, err)
		}
		out = append(out, entry{Job: j, sched: sched})
	}
	return out, nil
}

// Replace swaps in new jobs and zone (a config reload). Every spec is
// parsed first: on an error nothing changes. A running Run lets the jobs
// that are running finish and then follows the new schedules; AtStart jobs
// do not run again.
func (s *Scheduler) Replace(loc *time.Location, jobs ...Job) error {
	entries, err := parseJobs(jobs)
	if err != nil {
		return err
	}
	if loc == nil {
		loc = time.UTC
	}
	s.mu.Lock()
	s.loc, s.jobs = loc, entries
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default: // Run has not taken the previous change yet; it will see this one too
	}
	return nil
}

func (s *Scheduler) current() (*time.Location, []entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loc, s.jobs
}

// Run runs the jobs on their schedules until ctx ends, then waits for
// running jobs (whose ctx has ended too) to return. A job still running
// when its next time comes is skipped, not stacked; a panicking job is
// logged and runs again next time.
func (s *Scheduler) Run(ctx context.Context) error {
	logger := cronLogger{s.log}
	loc, jobs := s.current()
	for _, e := range jobs {
		if e.AtStart {
			s.run(ctx, e.Job)
		}
	}
	for {
		// Skip must wrap Recover: a panic escaping SkipIfStillRunning would
		// keep its token and the job would never run again.
		c := cron.New(cron.WithLocation(loc), cron.WithLogger(logger),
			cron.WithChain(cron.SkipIfStillRunning(logger), cron.Recover(logger)))
		for _, e := range jobs {
			c.Schedule(e.sched, cron.FuncJob(func() { s.run(ctx, e.Job) }))
		}
		c.Start()
		select {
		case <-ctx.Done():
			<-c.Stop().Done()
			return nil
		case <-s.changed:
			// Running jobs finish first, so the new cron's skip-if-running
			// cannot start a second sweep beside one still running.
			<-c.Stop().Done()
			loc, jobs = s.current()
			s.log.Info("schedules replaced", "jobs", len(jobs))
		}
	}
}

// RunDue runs, in order and once each, every job whose schedule fires in
// (from, to]: what the daemon would have run while the clock moved from
// from to to. It returns the names of the jobs it ran. The demo's
// `advance` and the simulation use it.
func (s *Scheduler) RunDue(ctx context.Context, from, to time.Time) ([]string, error) {
	var ran []string
	loc, jobs := s.current()
	for _, e := range jobs {
		if next := e.sched.Next(from.In(loc)); !next.IsZero() && !next.After(to) {
			ran = append(ran, e.Name)
			if err := s.run(ctx, e.Job); err != nil {
				return ran, err
			}
		}
	}
	return ran, nil
}

// Next returns when each job runs next after t, by name.
func (s *Scheduler) Next(t time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	loc, jobs := s.current()
	for _, e := range jobs {
		out[e.Name] = e.sched.Next(t.In(loc))
	}
	return out
}

// run runs a job, logging its failure or panic; the error is returned for
// RunDue's callers.
func (s *Scheduler) run(ctx context.Context, j Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("job panicked", "job", j.Name, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%s panicked: %v", j.Name, r)
		}
	}()
	if err = j.Run(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("job failed", "job", j.Name, "err", err)
	}
	return err
}

// cronLogger sends cron's own messages to slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		// A job still running at its next time: the sweep is too slow for
		// its schedule, which the operator should hear about.
		l.log.Warn("cron: a job was still running at its next time and was skipped", kv...)
		return
	}
	l.log.Debug("cron: "+msg, kv...)
}
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append([]any{"err", err}, kv...)...)
}
