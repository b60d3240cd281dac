package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// gatedAdapter holds every message while its destination fails the rule,
// as the chat adapters do for a public channel or one with an outsider.
type gatedAdapter struct {
	mu        sync.Mutex
	public    bool
	attempts  int
	delivered []string
}

func (g *gatedAdapter) Deliver(ctx context.Context, m bot.OutboxMessage) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attempts++
	if g.public {
		return bot.Hold(bot.MayReceive(bot.PlaceFacts{Platform: "irc", Name: "#sec", Kind: bot.PlaceChannel, Closure: "+nt"}))
	}
	g.delivered = append(g.delivered, bot.RenderPlain(m.Text))
	return nil
}

func (g *gatedAdapter) set(public bool) (attempts int, delivered []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.public = public
	return g.attempts, append([]string(nil), g.delivered...)
}

// TestOutboxHeldUntilReleased: a message refused by the privacy rule is
// held, not given up; it is not tried again on every round, counts as
// held (not pending, not dead), and goes out, in order, once the
// platform says its destinations changed.
func TestOutboxHeldUntilReleased(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	if err := db.Enqueue(ctx, []bot.OutboxMessage{notice("one", t0), notice("two", t0)}); err != nil {
		t.Fatal(err)
	}
	clock := bot.NewManualClock(t0)
	ob := bot.NewOutbox(db, clock, discard())
	g := &gatedAdapter{public: true}
	ob.Register("irc", g)
	for range 3 {
		if err := ob.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	attempts, delivered := g.set(true)
	if attempts != 2 || len(delivered) != 0 {
		t.Fatalf("attempts %d, delivered %q: want each message tried once, then held", attempts, delivered)
	}
	stats, err := db.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Held != 2 || stats.HeldByPlatform["irc"] != 2 || stats.Pending != 0 || stats.Dead != 0 {
		t.Fatalf("stats %+v, want 2 held on irc, none pending or dead", stats)
	}
	groups, err := db.HeldMessages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Count != 2 || groups[0].Platform != "irc" || groups[0].Reason != "irc channel #sec is not private (+nt)" {
		t.Fatalf("held groups %+v", groups)
	}
	if next, _ := db.NextAttempt(ctx); !next.IsZero() {
		t.Fatalf("next attempt %v: held messages must not wake the worker", next)
	}

	// Released while still public: held again, still not dead.
	if err := ob.Release(ctx, "irc"); err != nil {
		t.Fatal(err)
	}
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if stats, _ := db.OutboxStats(ctx); stats.Held != 2 || stats.Dead != 0 {
		t.Fatalf("after a release into a still public channel: %+v", stats)
	}

	g.set(false) // the channel was made private
	if err := ob.Release(ctx, "irc"); err != nil {
		t.Fatal(err)
	}
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	_, delivered = g.set(false)
	if len(delivered) != 2 || delivered[0] != "one" || delivered[1] != "two" {
		t.Fatalf("delivered %q, want one, two", delivered)
	}
	if stats, _ := db.OutboxStats(ctx); stats.Held != 0 || stats.Pending != 0 || stats.Dead != 0 {
		t.Fatalf("after the fix: %+v", stats)
	}
}

// TestOutboxRetriesHeldOnTimer: without any event, the running worker
// asks the rule again every HeldRetry, by the injected clock.
func TestOutboxRetriesHeldOnTimer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, _ := openDB(t)
	if err := db.Enqueue(ctx, []bot.OutboxMessage{notice("held", t0)}); err != nil {
		t.Fatal(err)
	}
	clock := bot.NewManualClock(t0)
	ob := bot.NewOutbox(db, clock, discard())
	ob.Idle = 5 * time.Millisecond
	ob.HeldRetry = time.Hour
	g := &gatedAdapter{public: true}
	ob.Register("irc", g)
	done := make(chan struct{})
	go func() { ob.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, func() bool { s, _ := db.OutboxStats(ctx); return s.Held == 1 })
	g.set(false)
	time.Sleep(50 * time.Millisecond) // rounds pass; the hour has not
	if _, d := g.set(false); len(d) != 0 {
		t.Fatalf("delivered %q before HeldRetry passed", d)
	}
	clock.Advance(time.Hour)
	waitFor(t, func() bool { _, d := g.set(false); return len(d) == 1 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReleaseHeldOnlyThePlatform: a change on one platform releases its
// held messages, not another platform's.
func TestReleaseHeldOnlyThePlatform(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	irc, mm := notice("irc", t0), notice("mm", t0)
	mm.Dest.Platform = "mattermost"
	if err := db.Enqueue(ctx, []bot.OutboxMessage{irc, mm}); err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 2; id++ {
		if err := db.MarkHeld(ctx, id, t0, "not private"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.ReleaseHeld(ctx, bot.OutboxFilter{Platforms: []string{"mattermost"}}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	due, err := db.DueMessages(ctx, t0.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].Dest.Platform != "mattermost" {
		t.Fatalf("due after releasing mattermost: %+v", due)
	}
	if s, _ := db.OutboxStats(ctx); s.HeldByPlatform["irc"] != 1 || s.HeldByPlatform["mattermost"] != 0 || s.PendingByPlatform["mattermost"] != 1 {
		t.Fatalf("stats %+v", s)
	}
}
