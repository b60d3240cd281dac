package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// TestIntakeRunsOnPreparedStatements: every statement a message's
// transaction runs, for each outcome (incident, quarantine, duplicate,
// a reused Message-ID), is one prepared in Open.
func TestIntakeRunsOnPreparedStatements(t *testing.T) {
	ctx := context.Background()
	in, db, _ := newIntake(t, bot.IntakeOptions{Acknowledge: true})
	for _, raw := range []string{
		"Subject: XSS\nthe login form is vulnerable\nMessage-ID: <1@x>",
		"Subject: XSS\nthe login form is vulnerable\nMessage-ID: <1@x>",
		"Subject: other\nanother body\nMessage-ID: <1@x>",
		"REJECT wrong-key\nMessage-ID: <2@x>",
		"PLAIN Subject: unencrypted\nbody",
	} {
		if _, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.UnpreparedForTest(); n != 0 {
		t.Errorf("%d statements of the intake path ran unprepared (add them to hotQueries)", n)
	}
}

// TestIntakeFailureKeepsNothing: a message whose incident cannot be
// opened leaves no trace: its report, incident and messages share one
// transaction, and the source keeps the message.
func TestIntakeFailureKeepsNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	svc, _ := newService(t, db)
	dec := &fakeDecoder{}
	in := bot.NewIntake(svc, db, dec, dec, nil, discard(), bot.IntakeOptions{Acknowledge: true})
	raw := []byte("Subject: XSS\nsome body\nMessage-ID: <1@x>")
	st := svc.Settings()
	defaultSIG := st.DefaultSIG
	st.DefaultSIG, st.SIGs = "", nil // no SIG to open it in
	if res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: raw}); err == nil {
		t.Fatalf("Receive succeeded without a SIG: %+v", res)
	}
	if ids, err := db.UnfinishedReports(ctx, t0.Add(24*60*60e9), 10); err != nil || len(ids) != 0 {
		t.Fatalf("the failed message left reports %v (%v)", ids, err)
	}
	if n, err := db.CountIncidents(ctx, bot.IncidentFilter{}); err != nil || n != 0 {
		t.Fatalf("%d incidents (%v)", n, err)
	}
	st.DefaultSIG, st.SIGs = defaultSIG, []*bot.SIG{{Name: defaultSIG, Lead: "bob"}}
	res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: raw})
	if err != nil || res.Duplicate || res.IncidentID != 1 || res.ReportID != 1 {
		t.Fatalf("offered again: %+v %v, want a fresh report 1 and SEC-1", res, err)
	}
}

// TestRowIDsAcrossProcesses: ids counted on within a transaction are read
// afresh in the next one, so two handles on one file (the daemon and an
// `ingest` process) interleaving never collide.
func TestRowIDsAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	inA, dbA, _ := newIntake(t, bot.IntakeOptions{Acknowledge: true})
	dbB, err := openSealed(ctx, dbA.Path(), discard())
	if err != nil {
		t.Fatal(err)
	}
	defer dbB.Close()
	svcB, _ := newService(t, dbB)
	dec := &fakeDecoder{}
	inB := bot.NewIntake(svcB, dbB, dec, dec, sigRouter{}, discard(), bot.IntakeOptions{Acknowledge: true})
	seen := map[int64]bool{}
	for i := range 6 {
		in := inA
		if i%2 == 1 {
			in = inB
		}
		res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: []byte(fmt.Sprintf("Subject: r%d\nbody %d", i, i))})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if seen[res.IncidentID] || res.IncidentID != int64(i+1) {
			t.Fatalf("message %d became incident %d; seen %v", i, res.IncidentID, seen)
		}
		seen[res.IncidentID] = true
		if events, err := dbA.Events(ctx, res.IncidentID); err != nil || len(events) == 0 {
			t.Fatalf("incident %d events %v %v", res.IncidentID, events, err)
		}
	}
}
