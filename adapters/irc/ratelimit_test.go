package irc

import (
	"testing"
	"time"
)

func TestTokenBucketBurstThenSteady(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	b := newTokenBucket(4, 2*time.Second, t0)
	for i := range 4 {
		if w := b.take(t0); w != 0 {
			t.Fatalf("line %d of the burst must go at once, waits %v", i+1, w)
		}
	}
	if w := b.take(t0); w != 2*time.Second {
		t.Fatalf("5th line waits %v, want 2s", w)
	}
	// Half a period later, half a token: wait the other half.
	if w := b.take(t0.Add(time.Second)); w != time.Second {
		t.Fatalf("after 1s the next line waits %v, want 1s", w)
	}
	if w := b.take(t0.Add(2 * time.Second)); w != 0 {
		t.Fatalf("after 2s a line goes, waits %v", w)
	}
	// A long pause refills to the burst, never beyond it.
	t1 := t0.Add(time.Hour)
	for i := range 4 {
		if w := b.take(t1); w != 0 {
			t.Fatalf("after an hour, line %d waits %v", i+1, w)
		}
	}
	if w := b.take(t1); w == 0 {
		t.Fatal("the bucket holds more than its burst")
	}
}

func TestTokenBucketChargeGoesIntoDebt(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	b := newTokenBucket(2, time.Second, t0)
	for range 4 { // girc wrote 4 lines of its own (PONGs): 2 tokens of debt
		b.charge(t0)
	}
	if w := b.take(t0); w != 3*time.Second {
		t.Fatalf("after 2 lines of debt the next line waits %v, want 3s", w)
	}
	b.reset(t0)
	if w := b.take(t0); w != 0 {
		t.Fatalf("a new connection starts with a full bucket, waits %v", w)
	}
}

func TestTokenBucketClockBackwards(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	b := newTokenBucket(1, time.Second, t0)
	b.take(t0)
	// The clock steps back 10 s, then forward 1 s: one token, not eleven.
	b.take(t0.Add(-10 * time.Second))
	b.take(t0.Add(-9 * time.Second))
	if w := b.take(t0.Add(-9 * time.Second)); w == 0 {
		t.Fatal("a clock stepping back minted tokens")
	}
}

func TestLimiterUsesInjectedClock(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	l := newLimiter(1, 2*time.Second, func() time.Time { return now })
	if l.take() != 0 || l.take() != 2*time.Second {
		t.Fatal("limiter does not follow its clock")
	}
	now = now.Add(2 * time.Second)
	if l.take() != 0 {
		t.Fatal("limiter did not refill when the clock moved")
	}
}
