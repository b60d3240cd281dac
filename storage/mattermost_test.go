package storage_test

import (
	"context"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

func TestMattermostPins(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	if id, err := db.PinMattermostUser(ctx, "Alice", "id-a", t0); err != nil || id != "id-a" {
		t.Fatalf("first pin = %q, %v", id, err)
	}
	// A recycled username: the first account stays pinned.
	if id, err := db.PinMattermostUser(ctx, "alice", "id-m", t0); err != nil || id != "id-a" {
		t.Fatalf("second pin = %q, %v; want the first id", id, err)
	}
	pins, err := db.MattermostUserPins(ctx)
	if err != nil || len(pins) != 1 || pins["alice"] != "id-a" {
		t.Fatalf("pins = %v, %v", pins, err)
	}
	if ok, err := db.UnpinMattermostUser(ctx, "ALICE"); err != nil || !ok {
		t.Fatalf("unpin = %v, %v", ok, err)
	}
	if id, _ := db.PinMattermostUser(ctx, "alice", "id-m", t0); id != "id-m" {
		t.Fatalf("after unpin = %q", id)
	}
}

func TestMattermostPostsAndNonces(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	svc, _ := newService(t, db)
	inc, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := db.MattermostIncidentChannel(ctx, inc.ID); err != nil || ch != "" {
		t.Fatalf("channel before = %q, %v", ch, err)
	}
	if err := db.SetMattermostIncidentChannel(ctx, inc.ID, "ch1", t0); err != nil {
		t.Fatal(err)
	}
	if chans, err := db.MattermostIncidentChannels(ctx); err != nil || chans["ch1"] != inc.ID {
		t.Fatalf("channels = %v, %v", chans, err)
	}
	if err := db.RecordMattermostPost(ctx, 7, 0, "p0", "ch1", inc.ID, "n1", t0); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordMattermostPost(ctx, 7, 1, "p1", "ch1", inc.ID, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordMattermostPost(ctx, 7, 1, "p2", "ch1", inc.ID, "", t0); err == nil {
		t.Fatal("a part recorded twice")
	}
	parts, err := db.MattermostPostedParts(ctx, 7)
	if err != nil || len(parts) != 2 || parts[1] != "p1" {
		t.Fatalf("parts = %v, %v", parts, err)
	}
	if posts, err := db.MattermostButtonPosts(ctx, inc.ID); err != nil || len(posts) != 1 || posts["p0"] != "ch1" {
		t.Fatalf("button posts = %v, %v", posts, err)
	}
	ch, id, nonce, err := db.MattermostButtonPost(ctx, "p0")
	if err != nil || ch != "ch1" || id != inc.ID || nonce != "n1" {
		t.Fatalf("button post = %q %d %q %v", ch, id, nonce, err)
	}
	if ok, err := db.SwapMattermostNonce(ctx, "p0", "n1", "n2"); err != nil || !ok {
		t.Fatalf("swap = %v, %v", ok, err)
	}
	if ok, _ := db.SwapMattermostNonce(ctx, "p0", "n1", "n3"); ok {
		t.Fatal("a used nonce was swapped again")
	}
	if _, _, nonce, _ := db.MattermostButtonPost(ctx, "p1"); nonce != "" {
		t.Fatal("a post without buttons has a nonce")
	}
}

// TestUnrecordedMigrationApplied: branches number their migrations ahead
// of each other, so a database may record 0004 and not yet a lower one;
// every migration not recorded is applied, not only those above the
// highest.
func TestUnrecordedMigrationApplied(t *testing.T) {
	db, path := openDB(t)
	ctx := context.Background()
	// Make it a database that has 0004 but not 0001.
	if err := db.ExecForTest(ctx, `DELETE FROM schema_migrations WHERE version = 1;
		DROP TABLE mattermost_posts; DROP TABLE mattermost_channels; DROP TABLE events; DROP TABLE outbox;
		DROP TABLE incidents; DROP TABLE reports`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	again, err := openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.CountIncidents(ctx, bot.IncidentFilter{}); err != nil {
		t.Fatalf("migration 0001 was not applied below the recorded 0004: %v", err)
	}
	if v, err := again.SchemaVersion(ctx); err != nil || v < 4 {
		t.Fatalf("schema version %d, %v", v, err)
	}
}
