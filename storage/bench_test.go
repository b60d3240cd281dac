package storage_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/storage"
)

// benchWorld is a service and registry on a real SQLite file.
func benchWorld(b *testing.B) (*storage.DB, *bot.Service, *commands.Registry, string) {
	db, path := openDB(b)
	svc := bot.NewService(db, bot.NewManualClock(t0), discard(), testSettings(b))
	reg, err := commands.New(svc, discard(), commands.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return db, svc, reg, path
}

// BenchmarkCommandClaim measures one chat command end to end: parse,
// authorise, execute, store (a committed write transaction with its event
// and queued notices). Each iteration claims a fresh incident.
func BenchmarkCommandClaim(b *testing.B) {
	ctx := context.Background()
	db, svc, reg, _ := benchWorld(b)
	incs := make([]*bot.Incident, b.N)
	for i := range incs {
		incs[i] = benchIncident(i, t0)
	}
	if err := db.BulkCreateForBench(ctx, incs); err != nil {
		b.Fatal(err)
	}
	erin := bot.Actor{Person: svc.Settings().People.ByName("erin"), Platform: bot.PlatformIRC}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := reg.Run(ctx, erin, fmt.Sprintf("claim SEC-%d", i+1), true); r.Failed {
			b.Fatal(bot.RenderPlain(r.Text))
		}
	}
}

// BenchmarkCommandNote is the same for a note with a quoted argument.
func BenchmarkCommandNote(b *testing.B) {
	ctx := context.Background()
	db, svc, reg, _ := benchWorld(b)
	if err := db.BulkCreateForBench(ctx, []*bot.Incident{benchIncident(0, t0)}); err != nil {
		b.Fatal(err)
	}
	bob := bot.Actor{Person: svc.Settings().People.ByName("bob"), Platform: bot.PlatformMattermost}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := reg.Run(ctx, bob, `note 1 "reproduced on \"5.8\", see the PoC"`, true); r.Failed {
			b.Fatal(bot.RenderPlain(r.Text))
		}
	}
}

// BenchmarkListOverdue100k runs `list overdue` over 100,000 incidents, a
// fifth of them overdue; the reply shows the 50 most urgent and the count.
func BenchmarkListOverdue100k(b *testing.B) {
	ctx := context.Background()
	db, svc, reg, path := benchWorld(b)
	incs := make([]*bot.Incident, 100_000)
	for i := range incs {
		created := t0.Add(-time.Duration(i%10) * 12 * time.Hour) // i%10 is 8 or 9: 96 h or more old, overdue
		if i%10 < 8 {
			created = t0.Add(-time.Duration(i%4) * 12 * time.Hour) // at most 36 h old: not overdue
		}
		incs[i] = benchIncident(i, created)
	}
	if err := db.BulkCreateForBench(ctx, incs); err != nil {
		b.Fatal(err)
	}
	alice := bot.Actor{Person: svc.Settings().People.ByName("alice"), Platform: bot.PlatformConsole}
	r := reg.Run(ctx, alice, "list overdue", true)
	if text := bot.RenderPlain(r.Text); r.Failed || !strings.HasPrefix(text, "20000 overdue incidents") || !strings.Contains(text, "… and 19950 more") {
		b.Fatalf("unexpected reply: %.300s", text)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reg.Run(ctx, alice, "list overdue", true)
	}
	b.StopTimer()
	// The database size with 100,000 incidents, reported beside the timing.
	size := int64(0)
	for _, f := range []string{path, path + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	b.ReportMetric(float64(size)/1e6, "MB-db")
}

func benchIncident(i int, created time.Time) *bot.Incident {
	inc := &bot.Incident{
		Title: fmt.Sprintf("Report %d: buffer overflow in component %d", i, i%500), SIG: "core",
		Severity: bot.SeverityUnknown, State: bot.StateNew, Assignee: "bob", Manager: "alice",
		Reporter: "reporter@example.net", Encrypted: true,
		Created: created, Updated: created, StateSince: created, LastActivity: created,
	}
	bot.DefaultDeadlines().Apply(inc)
	return inc
}
