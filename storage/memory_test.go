package storage

import (
	"context"
	"log/slog"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// TestOpenMemory: an in-memory database has the whole schema, is shared
// by the write and read pools, and is separate from every other one.
func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	a, err := OpenMemory(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenMemory(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	va, _ := a.SchemaVersion(ctx)
	if all, _ := migrations(); va != all[len(all)-1].version {
		t.Fatalf("schema version %d, want %d", va, all[len(all)-1].version)
	}
	settings := &bot.Settings{DefaultSIG: "core", Deadlines: bot.DefaultDeadlines()}
	people, _ := bot.NewPeople(nil)
	settings.People = people
	settings.SIGs = []*bot.SIG{{Name: "core"}}
	svc := bot.NewService(a, bot.SystemClock{}, log, settings)
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x"}); err != nil {
		t.Fatal(err)
	}
	// Written through the writer, read through the read pool.
	if inc, err := a.Incident(ctx, 1); err != nil || inc.Title != "x" {
		t.Fatalf("read back: %v %v", inc, err)
	}
	if _, err := b.Incident(ctx, 1); bot.KindOf(err) != bot.KindNotFound {
		t.Fatalf("the other in-memory database sees the incident: %v", err)
	}
	if problems, err := a.QuickCheck(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("quick_check: %v %v", problems, err)
	}
}
