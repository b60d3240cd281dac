package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/storage"
)

// flakyAdapter fails while down and records what it delivered.
type flakyAdapter struct {
	mu        sync.Mutex
	down      bool
	attempts  int
	delivered []string
	deliverCh chan string
}

func (f *flakyAdapter) Deliver(ctx context.Context, m bot.OutboxMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.down {
		return errors.New("connection refused")
	}
	f.delivered = append(f.delivered, bot.RenderPlain(m.Text))
	if f.deliverCh != nil {
		f.deliverCh <- bot.RenderPlain(m.Text)
	}
	return nil
}

func (f *flakyAdapter) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func notice(text string, at time.Time) bot.OutboxMessage {
	return bot.OutboxMessage{Dest: bot.Destination{Platform: "irc", Channel: bot.ChannelTriage}, Kind: bot.MessageNotice,
		Text: bot.PlainText(text), Created: at, NextAttempt: at}
}

// TestOutboxRetriesWithBackoffAndKeepsOrder: while the adapter fails, each
// round costs one attempt and pushes the whole platform back; once it is up,
// everything goes out in order.
func TestOutboxRetriesWithBackoffAndKeepsOrder(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	clock := bot.NewManualClock(t0)
	if err := db.Enqueue(ctx, []bot.OutboxMessage{notice("1", t0), notice("2", t0), notice("3", t0)}); err != nil {
		t.Fatal(err)
	}
	irc := &flakyAdapter{down: true}
	ob := bot.NewOutbox(db, clock, discard())
	ob.Register("irc", irc)

	var waits []time.Duration
	for i := 0; i < 4; i++ {
		if err := ob.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		next, _ := db.NextAttempt(ctx)
		waits = append(waits, next.Sub(clock.Now()))
		clock.Set(next)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; !equalDurations(waits, want) {
		t.Fatalf("backoff %v, want %v", waits, want)
	}
	if irc.attempts != 4 {
		t.Fatalf("%d attempts, want 4: one per round, the rest of the platform waits", irc.attempts)
	}
	irc.setDown(false)
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := irc.delivered; len(got) != 3 || got[0] != "1" || got[1] != "2" || got[2] != "3" {
		t.Fatalf("delivered %q, want 1 2 3 in order", got)
	}
	if stats, _ := db.OutboxStats(ctx); stats.Pending != 0 {
		t.Fatalf("still pending: %+v", stats)
	}
}

// TestOutboxResumeAfterOutage: after a long outage the backoff has pushed
// a platform's messages minutes away; Resume, which an adapter calls once
// it is connected again, makes them due at once and leaves other platforms
// alone.
func TestOutboxResumeAfterOutage(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	clock := bot.NewManualClock(t0)
	other := notice("mm", t0)
	other.Dest.Platform = "mattermost"
	other.NextAttempt = t0.Add(time.Hour)
	if err := db.Enqueue(ctx, []bot.OutboxMessage{notice("1", t0), notice("2", t0), other}); err != nil {
		t.Fatal(err)
	}
	irc := &flakyAdapter{down: true}
	ob := bot.NewOutbox(db, clock, discard())
	ob.Register("irc", irc)
	for range 8 { // backoff grows to 2 minutes
		ob.Flush(ctx)
		next, _ := db.NextAttempt(ctx)
		clock.Set(next)
	}
	clock.Advance(time.Second)
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	irc.setDown(false)
	if err := ob.Resume(ctx, "irc"); err != nil {
		t.Fatal(err)
	}
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := irc.delivered; len(got) != 2 {
		t.Fatalf("after Resume delivered %q, want both irc messages at once", got)
	}
	if next, _ := db.NextAttempt(ctx); !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Resume moved another platform's message to %v", next)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOutboxDeliversPendingAfterRestart: messages queued by one process
// are delivered by the next one, and a failing platform does not hold up
// another.
func TestOutboxDeliversPendingAfterRestart(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	settings := testSettings(t)
	settings.Platforms = []string{"irc", "mattermost"}
	svc := bot.NewService(db, bot.SystemClock{}, discard(), settings)
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "queued before restart"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db2, err := openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	irc := &flakyAdapter{down: true}
	mm := &flakyAdapter{deliverCh: make(chan string, 10)}
	ob := bot.NewOutbox(db2, bot.SystemClock{}, discard())
	ob.MinBackoff = 20 * time.Millisecond
	ob.Register("irc", irc)
	ob.Register("mattermost", mm)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- ob.Run(runCtx) }()
	// Mattermost gets the post and both pings while IRC is down.
	for i := 0; i < 3; i++ {
		select {
		case <-mm.deliverCh:
		case <-time.After(5 * time.Second):
			t.Fatal("mattermost messages not delivered while irc is down")
		}
	}
	irc.mu.Lock()
	irc.deliverCh = make(chan string, 10)
	irc.down = false
	ch := irc.deliverCh
	irc.mu.Unlock()
	ob.Wake()
	for i := 0; i < 3; i++ {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("irc messages not delivered after it came back")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type panicky struct{}

func (panicky) Deliver(context.Context, bot.OutboxMessage) error { panic("boom") }

func TestOutboxGivesUpOnPermanentFailures(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	m1, m2 := notice("panics", t0), notice("unknown platform", t0)
	m2.Dest.Platform = "carrier-pigeon"
	if err := db.Enqueue(ctx, []bot.OutboxMessage{m1, m2}); err != nil {
		t.Fatal(err)
	}
	ob := bot.NewOutbox(db, bot.NewManualClock(t0), discard())
	ob.Register("irc", panicky{})
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	stats, _ := db.OutboxStats(ctx)
	if stats.Pending != 0 || stats.Dead != 2 {
		t.Fatalf("stats %+v, want both dead", stats)
	}
}

// slowAdapter takes a message only when the test lets it, as IRC does when
// its send budget is spent (a line a second).
type slowAdapter struct {
	started chan struct{}
	release chan struct{}
}

func (s *slowAdapter) Deliver(ctx context.Context, m bot.OutboxMessage) error {
	s.started <- struct{}{}
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestOutboxSlowPlatformHoldsUpNoOther: while one platform takes its time
// over a message, the others' messages, queued after it, go out; and a
// message for a platform nobody delivers is given up meanwhile.
func TestOutboxSlowPlatformHoldsUpNoOther(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	mmMsg, orphan := notice("mm", t0), notice("nobody", t0)
	mmMsg.Dest.Platform, orphan.Dest.Platform = "mattermost", "carrier-pigeon"
	if err := db.Enqueue(ctx, []bot.OutboxMessage{notice("irc 1", t0), notice("irc 2", t0), mmMsg, orphan}); err != nil {
		t.Fatal(err)
	}
	irc := &slowAdapter{started: make(chan struct{}, 10), release: make(chan struct{})}
	mm := &flakyAdapter{deliverCh: make(chan string, 10)}
	ob := bot.NewOutbox(db, bot.NewManualClock(t0), discard())
	ob.Register("irc", irc)
	ob.Register("mattermost", mm)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- ob.Run(runCtx) }()
	defer func() {
		cancel()
		<-done
	}()
	<-irc.started // IRC is busy with "irc 1" and stays so
	select {
	case got := <-mm.deliverCh:
		if got != "mm" {
			t.Fatalf("mattermost got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a Mattermost message waited for IRC to finish its message")
	}
	deadline := time.Now().Add(5 * time.Second)
	for stats, _ := db.OutboxStats(ctx); stats.Dead != 1; stats, _ = db.OutboxStats(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("the message for an unknown platform was not given up: %+v", stats)
		}
		time.Sleep(10 * time.Millisecond) // polling the database for the worker's write
	}
	close(irc.release) // IRC carries on, in order
	<-irc.started
	deadline = time.Now().Add(5 * time.Second)
	for stats, _ := db.OutboxStats(ctx); stats.Pending != 0; stats, _ = db.OutboxStats(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("IRC's messages not delivered after it was released: %+v", stats)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outcomeAdapter fails or succeeds as told.
type outcomeAdapter struct{ err error }

func (a outcomeAdapter) Deliver(context.Context, bot.OutboxMessage) error { return a.err }

// TestOutboxObservesRecordedOutcomes: whoever Observe tells of an attempt
// finds its outcome in the store already, whatever the outcome. Tests wait
// on Observe and then read the store; told first, they raced the write.
func TestOutboxObservesRecordedOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		ok   func(storage.OutboxStats, time.Time) bool
	}{
		{"delivered", nil, func(s storage.OutboxStats, _ time.Time) bool { return s.Pending == 0 && s.Dead == 0 }},
		{"held", bot.Hold(bot.Verdict{Reason: "public", Problem: "p"}), func(s storage.OutboxStats, _ time.Time) bool {
			return s.Held == 1 && s.Pending == 0
		}},
		{"given up", bot.Permanent(errors.New("no such channel")), func(s storage.OutboxStats, _ time.Time) bool {
			return s.Dead == 1 && s.Pending == 0
		}},
		{"retried", errors.New("connection refused"), func(s storage.OutboxStats, next time.Time) bool {
			return s.Pending == 1 && next.After(t0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openDB(t)
			if err := db.Enqueue(ctx, []bot.OutboxMessage{notice("x", t0)}); err != nil {
				t.Fatal(err)
			}
			ob := bot.NewOutbox(db, bot.NewManualClock(t0), discard())
			ob.Register("irc", outcomeAdapter{tc.err})
			observed := 0
			ob.Observe = func(_ bot.OutboxMessage, err error) {
				observed++
				stats, serr := db.OutboxStats(ctx)
				next, nerr := db.NextAttempt(ctx)
				if serr != nil || nerr != nil || !tc.ok(stats, next) {
					t.Errorf("told of the attempt (err %v) before it was recorded: stats %+v, next attempt %v (%v, %v)", err, stats, next, serr, nerr)
				}
			}
			if err := ob.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if observed != 1 {
				t.Fatalf("observed %d attempts, want 1", observed)
			}
		})
	}
}
