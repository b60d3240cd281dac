package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// TestIntakeCommitFrames: a commit writes each page its transaction
// dirtied as one WAL frame (two writes and a checksum over 4 KB), so the
// pages a message dirties are most of intake's storage cost. A report
// that becomes an incident (an 8.5 KB message, its incident, two events,
// the notices and the acknowledgement) dirties 21 or fewer today (see
// InReportTx): a new index, or a row written and then rewritten in the
// same transaction, shows here.
func TestIntakeCommitFrames(t *testing.T) {
	ctx := context.Background()
	in, db, _ := newIntake(t, bot.IntakeOptions{Acknowledge: true})
	rng := rand.New(rand.NewPCG(1, 2))
	receive := func(i int) {
		body := make([]byte, 8<<10)
		for j := range body {
			body[j] = byte('a' + rng.IntN(26))
		}
		raw := fmt.Appendf(nil, "Subject: report %d\n%s\nMessage-ID: <frames-%d@example.net>", i, body, i)
		if res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: raw}); err != nil || res.IncidentID == 0 {
			t.Fatalf("message %d: %+v %v", i, res, err)
		}
	}
	for i := range 20 { // past the first pages of every table and index
		receive(i)
	}
	if err := db.ExecForTest(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	const messages = 10 // 10 × ~21 frames: well under the 1000 of an automatic checkpoint
	for i := range messages {
		receive(100 + i)
	}
	st, err := os.Stat(db.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	const header, frame = 32, 24 + 4096
	frames := float64(st.Size()-header) / frame / messages
	t.Logf("%.1f WAL frames per message", frames)
	if frames > 21 {
		t.Errorf("%.1f WAL frames per message, want at most 21", frames)
	}
}
