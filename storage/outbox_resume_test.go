package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// partsAdapter sends a message line by line, as the IRC adapter does, and
// loses its connection after cut lines of the first attempt.
type partsAdapter struct {
	cut  int
	sent []string // every line that reached the "server"
}

func (p *partsAdapter) Deliver(ctx context.Context, m bot.OutboxMessage) error {
	lines := strings.Split(bot.RenderPlain(m.Text), "\n")
	for i := m.Sent; i < len(lines); i++ {
		if p.cut == 0 {
			p.cut = -1
			return errors.New("connection lost")
		}
		p.cut--
		p.sent = append(p.sent, lines[i])
		if err := m.RecordSent(ctx, i+1); err != nil {
			return err
		}
	}
	return nil
}

// TestOutboxResumesAtFirstUnsentPart: an attempt cut off after some
// lines is retried from the first line it did not send, so every line
// goes out once; the count survives in the database, not in the worker.
func TestOutboxResumesAtFirstUnsentPart(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	clock := bot.NewManualClock(t0)
	if err := db.Enqueue(ctx, []bot.OutboxMessage{notice("l1\nl2\nl3\nl4\nl5", t0)}); err != nil {
		t.Fatal(err)
	}
	a := &partsAdapter{cut: 3}
	ob := bot.NewOutbox(db, clock, discard())
	ob.Register("irc", a)
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	due, err := db.DueMessages(ctx, t0.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].Sent != 3 {
		t.Fatalf("after the cut: %+v, %v; want one message with 3 lines sent", due, err)
	}
	// A second worker (a restarted daemon) picks it up from the database.
	clock.Advance(time.Hour)
	ob2 := bot.NewOutbox(db, clock, discard())
	ob2.Register("irc", a)
	if err := ob2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(a.sent, ","); got != "l1,l2,l3,l4,l5" {
		t.Errorf("lines sent: %s; want each once, in order", got)
	}
	// A stale attempt cannot lower the count.
	if err := db.MarkSent(ctx, due[0].ID, 1); err != nil {
		t.Fatal(err)
	}
	stats, _ := db.OutboxStats(ctx)
	if stats.Pending != 0 || stats.Dead != 0 {
		t.Errorf("outbox after the retry: %+v", stats)
	}
}

// TestOutboxSeenMattermostPosts: a post is claimed once; the newest
// claimed post is where a catch-up starts, and pruning keeps it.
func TestOutboxSeenMattermostPosts(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	if at, err := db.MattermostLastSeenPost(ctx); err != nil || !at.IsZero() {
		t.Fatalf("empty: %v, %v", at, err)
	}
	for i, id := range []string{"p1", "p2", "p1"} {
		ok, err := db.ClaimMattermostPost(ctx, id, "dm", t0.Add(time.Duration(i)*time.Minute))
		if err != nil || ok != (i < 2) {
			t.Fatalf("claim %d (%s) = %v, %v", i, id, ok, err)
		}
	}
	if at, _ := db.MattermostLastSeenPost(ctx); !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("last seen %v, want %v", at, t0.Add(time.Minute))
	}
	if err := db.PruneMattermostSeenPosts(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if at, _ := db.MattermostLastSeenPost(ctx); !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("pruning lost the last seen post: %v", at)
	}
	if ok, _ := db.ClaimMattermostPost(ctx, "p2", "dm", t0); ok {
		t.Errorf("the newest post was forgotten by pruning")
	}
	if ok, _ := db.ClaimMattermostPost(ctx, "p1", "dm", t0); !ok {
		t.Errorf("an old post was not pruned")
	}
}
