package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/intaketest"
)

// TestQuarantineReleaseRaceAndResume: two officers releasing the same
// entry at once make one incident and one conflict; a release interrupted
// after it was recorded (the process died) is finished by Resume.
func TestQuarantineReleaseRaceAndResume(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	svc, clock := newService(t, db)
	in, desk, gate := intaketest.NewDesk(svc, db, time.Hour)
	officer := actor(svc, "alice")
	for _, s := range []string{"raced", "interrupted"} {
		if res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: intaketest.Mail("K", "rita@example.net", s, "CANARY")}); err != nil || res.QuarantineID == 0 {
			t.Fatalf("%s: %+v %v", s, res, err)
		}
	}
	gate.AddKey("K")

	var wg sync.WaitGroup
	results := make([]error, 4)
	incidents := make([]int64, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := desk.Release(ctx, officer, bot.Officer, 1)
			results[i], incidents[i] = err, res.IncidentID
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range results {
		switch {
		case err == nil && incidents[i] != 0:
			won++
		case bot.KindOf(err) != bot.KindConflict:
			t.Errorf("release %d: %v", i, err)
		}
	}
	if n, _ := db.CountIncidents(ctx, bot.IncidentFilter{}); won != 1 || n != 1 {
		t.Fatalf("%d releases won, %d incidents; want 1 and 1", won, n)
	}

	// The release of Q-2 is recorded, then the process dies.
	if err := db.ReleaseQuarantine(ctx, 2, "alice", clock.Now()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if n, err := in.Resume(ctx, time.Minute); err != nil || n != 1 {
		t.Fatalf("Resume: %d %v", n, err)
	}
	q, err := db.QuarantineEntry(ctx, 2)
	if err != nil || q.IncidentID != 2 || q.ReleasedBy != "alice" {
		t.Fatalf("Q-2 after Resume: %+v %v", q, err)
	}
}
