package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/storage"
)

// TestWatchCommitsSeesOtherProcessesOnly: a message queued through another
// handle on the file (as `sectriage ingest` does) is noticed; the
// daemon's own writes are not, since its outbox is woken directly.
func TestWatchCommitsSeesOtherProcessesOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	daemon, path := openDB(t)
	other, err := openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	changed := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() {
		done <- daemon.WatchCommits(ctx, 5*time.Millisecond, func() { changed <- struct{}{} })
	}()
	enqueue := func(db *storage.DB, text string) {
		t.Helper()
		if err := db.Enqueue(ctx, []bot.OutboxMessage{notice(text, t0)}); err != nil {
			t.Fatal(err)
		}
	}

	// Let the watcher take its first reading, then write as the daemon:
	// many ticks pass without a call.
	time.Sleep(20 * time.Millisecond)
	enqueue(daemon, "own")
	select {
	case <-changed:
		t.Fatal("the daemon's own commit was reported as another process's")
	case <-time.After(100 * time.Millisecond):
	}

	enqueue(other, "from ingest")
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("a commit by another process went unnoticed")
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("WatchCommits after cancel: %v", err)
	}
}
