package schedule_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sectriage/sectriage/schedule"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestParse(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC) // a Friday before the DST change
	for _, tc := range []struct {
		spec string
		next string // after from, UTC; empty: an error is expected
		err  string
	}{
		{spec: "@every 5m", next: "2026-03-27 12:05"},
		{spec: "CRON_TZ=UTC 0 9 * * MON-FRI", next: "2026-03-30 09:00"},
		{spec: "CRON_TZ=Europe/Berlin 0 9 * * MON-FRI", next: "2026-03-30 07:00"}, // CEST from Sunday
		{spec: "CRON_TZ=UTC\t0  8 * * *", next: "2026-03-28 08:00"},
		{spec: "TZ=UTC @daily", next: "2026-03-28 00:00"},
		{spec: "CRON_TZ=UTC", err: "no schedule after it"},
		{spec: "CRON_TZ=UTC ", err: "no schedule after it"},
		{spec: "TZ=Europe/Berlin", err: "no schedule after it"},
		{spec: "CRON_TZ=Mars/Olympus 0 9 * * *", err: "bad location"},
		{spec: "0 25 * * *", err: "above maximum"},
		{spec: "0 9 * *", err: "expected exactly 5 fields"},
		{spec: "@fortnightly", err: "unrecognized descriptor"},
		{spec: "", err: "empty"},
	} {
		s, err := schedule.Parse(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) error = %v, want one containing %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if got := s.Next(from.In(berlin)).UTC().Format("2006-01-02 15:04"); got != tc.next {
			t.Errorf("Parse(%q).Next = %s, want %s", tc.spec, got, tc.next)
		}
	}
}

func TestRunDueRunsEachFiredJobOnceInOrder(t *testing.T) {
	var ran []string
	job := func(name string) func(context.Context) error {
		return func(context.Context) error { ran = append(ran, name); return nil }
	}
	s, err := schedule.New(discard(), time.UTC,
		schedule.Job{Name: "sweep", Spec: "@every 5m", Run: job("sweep")},
		schedule.Job{Name: "reminders", Spec: "CRON_TZ=UTC 0 9 * * MON-FRI", Run: job("reminders")},
		schedule.Job{Name: "digest", Spec: "0 8 * * *", Run: job("digest")},
		schedule.Job{Name: "off", Spec: "", Run: job("off")},
	)
	if err != nil {
		t.Fatal(err)
	}
	fri := time.Date(2026, 3, 27, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		from, to time.Time
		want     string
	}{
		{fri, fri.Add(4 * time.Minute), ""},
		{fri, fri.Add(5 * time.Minute), "sweep"},
		{fri, fri.Add(time.Hour), "sweep digest"},
		{fri, fri.Add(49 * time.Hour), "sweep reminders digest"},           // Friday 09:00 reminders, two digests: once
		{fri.Add(26 * time.Hour), fri.Add(49 * time.Hour), "sweep digest"}, // Saturday and Sunday: no reminders
	} {
		ran = nil
		names, err := s.RunDue(context.Background(), tc.from, tc.to)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ran, " "); got != tc.want || strings.Join(names, " ") != got {
			t.Errorf("RunDue(%v, %v) ran %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
	if _, err := schedule.New(discard(), nil, schedule.Job{Name: "bad", Spec: "CRON_TZ=UTC", Run: job("x")}); err == nil ||
		!strings.Contains(err.Error(), "schedule bad") {
		t.Errorf("bad spec: %v", err)
	}
}

// TestRunRecoversAndStops runs the real cron for a few seconds: a job that
// panics keeps running on later ticks, and Run returns when ctx ends.
func TestRunRecoversAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the wall-clock scheduler for about two seconds")
	}
	var calls, starts atomic.Int32
	twice := make(chan struct{})
	s, err := schedule.New(discard(), time.UTC,
		schedule.Job{Name: "flaky", Spec: "@every 1s", Run: func(context.Context) error {
			switch calls.Add(1) {
			case 1:
				panic("boom")
			case 2:
				close(twice)
			}
			return errors.New("failing is logged, not fatal")
		}},
		schedule.Job{Name: "start", Spec: "@daily", AtStart: true, Run: func(context.Context) error { starts.Add(1); return nil }},
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-twice:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not run again after panicking")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	if starts.Load() != 1 {
		t.Errorf("AtStart job ran %d times, want 1", starts.Load())
	}
}

// TestReplace swaps the jobs of a running scheduler (a config reload): a
// bad spec changes nothing, a good one takes over from the next tick, and
// AtStart jobs do not run again.
func TestReplace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the wall-clock scheduler for about a second")
	}
	var starts atomic.Int32
	started := make(chan struct{})
	newRan := make(chan struct{}, 1)
	s, err := schedule.New(discard(), time.UTC,
		schedule.Job{Name: "sweep", Spec: "@daily", AtStart: true, Run: func(context.Context) error {
			if starts.Add(1) == 1 {
				close(started)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	<-started
	if err := s.Replace(time.UTC, schedule.Job{Name: "sweep", Spec: "CRON_TZ=UTC"}); err == nil {
		t.Fatal("a spec without a schedule was accepted")
	}
	if next := s.Next(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)); !next["sweep"].Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("a refused Replace changed the schedule: %v", next)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	err = s.Replace(berlin, schedule.Job{Name: "sweep", Spec: "@every 1s", AtStart: true, Run: func(context.Context) error {
		select {
		case newRan <- struct{}{}:
		default:
		}
		return nil
	}}, schedule.Job{Name: "digest", Spec: "0 8 * * *"})
	if err != nil {
		t.Fatal(err)
	}
	if next := s.Next(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)); !next["digest"].Equal(time.Date(2026, 1, 2, 7, 0, 0, 0, time.UTC)) {
		t.Fatalf("digest not at 08:00 Berlin: %v", next)
	}
	select {
	case <-newRan:
	case <-time.After(5 * time.Second):
		t.Fatal("the new schedule did not run")
	}
	if starts.Load() != 1 {
		t.Errorf("AtStart job ran %d times", starts.Load())
	}
}
