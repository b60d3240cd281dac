package storage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// TestStats counts what the metrics show, through the intake pipeline and
// the outbox as they really fill the tables.
func TestStats(t *testing.T) {
	ctx := context.Background()
	in, db, _ := newIntake(t, bot.IntakeOptions{MaxMessageBytes: 1024})
	receive := func(source, raw string) bot.IntakeResult {
		t.Helper()
		sub := bot.Submission{Source: source, Raw: []byte(raw)}
		if len(raw) > 1024 {
			sub.Oversized = true
		}
		res, err := in.Receive(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	receive(bot.SourcePipe, "Subject: XSS\nthe login form is vulnerable\nMessage-ID: <1@x>")
	receive(bot.SourceWeb, "Subject: plain\nPLAIN body\nMessage-ID: <2@x>")
	receive(bot.SourceIMAP, "REJECT wrong-key\nMessage-ID: <3@x>")
	receive(bot.SourceIMAP, "REJECT integrity-failed\nMessage-ID: <4@x>")
	receive(bot.SourceIMAP, "Message-ID: <5@x>\n"+strings.Repeat("x", 2000)) // too large to store

	// One message given up.
	msgs, err := db.DueMessages(ctx, t0.Add(time.Hour), 1)
	if err != nil || len(msgs) != 1 {
		t.Fatal(msgs, err)
	}
	if err := db.MarkDead(ctx, msgs[0].ID, t0.Add(time.Minute), "gone"); err != nil {
		t.Fatal(err)
	}

	s, err := db.Stats(ctx, t0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.ReportsBySource[bot.SourcePipe] != 1 || s.ReportsBySource[bot.SourceWeb] != 1 || s.ReportsBySource[bot.SourceIMAP] != 3 {
		t.Errorf("reports by source: %v", s.ReportsBySource)
	}
	if s.ReportsDecrypted != 1 {
		t.Errorf("decrypted: %d", s.ReportsDecrypted)
	}
	if s.QuarantinedByReason["wrong-key"] != 1 || s.QuarantinedByReason["integrity-failed"] != 1 || s.QuarantinedByReason["too-large"] != 1 {
		t.Errorf("quarantined: %v", s.QuarantinedByReason)
	}
	total := 0
	for _, c := range s.Incidents {
		if c.State != "new" {
			t.Errorf("incident count %+v", c)
		}
		total += c.Count
	}
	if total != 2 || s.OverdueBySIG["core"]+s.OverdueBySIG["web"] != 2 {
		t.Errorf("incidents %+v, overdue %v", s.Incidents, s.OverdueBySIG)
	}
	if s.Outbox.Dead != 1 || !s.Outbox.LastDead.Equal(t0.Add(time.Minute)) || s.Outbox.Pending == 0 || s.Outbox.OldestPending.IsZero() {
		t.Errorf("outbox %+v", s.Outbox)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
}

// BenchmarkStats100k is one /metrics scrape's database reads over 100,000
// incidents, a fifth of them overdue.
func BenchmarkStats100k(b *testing.B) {
	ctx := context.Background()
	db, _ := openDB(b)
	incs := make([]*bot.Incident, 100_000)
	for i := range incs {
		created := t0
		if i%5 == 0 {
			created = t0.Add(-96 * time.Hour)
		}
		incs[i] = benchIncident(i, created)
	}
	if err := db.BulkCreateForBench(ctx, incs); err != nil {
		b.Fatal(err)
	}
	s, err := db.Stats(ctx, t0)
	if err != nil || s.OverdueBySIG["core"] != 20_000 {
		b.Fatalf("%v %v", s.OverdueBySIG, err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Stats(ctx, t0); err != nil {
			b.Fatal(err)
		}
	}
}
