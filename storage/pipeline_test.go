package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// TestIntakeRunsOnPreparedStatements: every statement a message's
// transaction runs, for each outcome (incident with a status link,
// quarantine, re-quarantine after a release, duplicate, a reused
// Message-ID, a follow-up, a claim noted on another incident), is one
// prepared in Open.
func TestIntakeRunsOnPreparedStatements(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	svc, _ := newService(t, db)
	st := svc.Settings()
	st.SIGs = append(st.SIGs, &bot.SIG{Name: "web", Lead: "alice"})
	st.ReporterMail = true
	dec := &fakeDecoder{}
	in := bot.NewIntake(svc, db, dec, dec, sigRouter{}, discard(),
		bot.IntakeOptions{Acknowledge: true, Status: db, StatusURL: "https://sec.example.org/status/"})
	receive := func(raw string) bot.IntakeResult {
		t.Helper()
		res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: []byte(raw)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := receive("Subject: XSS\nthe login form is vulnerable\nMessage-ID: <1@x>")
	if first.StatusURL == "" {
		t.Errorf("no status link: %+v", first)
	}
	receive("Subject: XSS\nthe login form is vulnerable\nMessage-ID: <1@x>")
	receive("Subject: other\nanother body\nMessage-ID: <1@x>")
	q := receive("REJECT wrong-key\nMessage-ID: <2@x>")
	receive("PLAIN Subject: unencrypted\nbody")
	if f := receive("Subject: Re: XSS\nmore detail\nReferences: <1@x>\nMessage-ID: <3@x>"); !f.FollowUp || f.IncidentID != first.IncidentID {
		t.Errorf("follow-up: %+v", f)
	}
	if c := receive(fmt.Sprintf("Subject: [%s] mine\nsome body\nMessage-ID: <4@x>", bot.FormatID(first.IncidentID))); c.IncidentID == first.IncidentID || c.FollowUp {
		t.Errorf("a subject tag joined the incident: %+v", c)
	}
	// Released and rejected again: the entry is back.
	if err := db.ReleaseQuarantine(ctx, q.QuarantineID, "alice", t0); err != nil {
		t.Fatal(err)
	}
	if err := db.InReportTx(ctx, func(tx bot.ReportTx) error {
		_, created, err := tx.QuarantineMessage(ctx, &bot.Quarantined{ReportID: q.ReportID, DedupeKey: fmt.Sprintf("report|%d", q.ReportID),
			ReceivedAt: t0, Reason: bot.RejectWrongKey, Detail: "again"}, func(*bot.Quarantined) []bot.OutboxMessage { return nil })
		if err == nil && !created {
			err = fmt.Errorf("a released entry was not quarantined again")
		}
		return err
	}); err != nil {
		t.Fatal(err)
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

// TestReportTxFinishesOnlyWhatReachedItsOutcome: a report transaction
// stores its report finished, trusting the outcome to be written in it;
// a report kept without one (or a second report, left alone) must be
// stored unfinished all the same, for Resume to take it up.
func TestReportTxFinishesOnlyWhatReachedItsOutcome(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	kept := func(n int) bot.KeptReport {
		return bot.KeptReport{ReceivedAt: t0, Source: bot.SourcePipe, Hash: fmt.Sprintf("hash-%d", n), Raw: []byte("raw")}
	}
	var ids [3]int64
	if err := db.InReportTx(ctx, func(tx bot.ReportTx) error {
		var err error
		for i := range ids {
			if ids[i], _, err = tx.KeepReport(ctx, kept(i)); err != nil {
				return err
			}
			if i == 1 { // only the second one reaches its outcome
				if err := tx.FinishReport(ctx, ids[i], nil, t0); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, true, false} {
		out, err := db.ReportOutcome(ctx, ids[i])
		if err != nil || out.Finished != want {
			t.Errorf("report %d: finished %v (%v), want %v", ids[i], out.Finished, err, want)
		}
	}
	unfinished, err := db.UnfinishedReports(ctx, t0.Add(time.Hour), 10)
	if err != nil || len(unfinished) != 2 || unfinished[0] != ids[0] || unfinished[1] != ids[2] {
		t.Errorf("unfinished %v (%v), want %d and %d", unfinished, err, ids[0], ids[2])
	}
	// Quarantine and follow-up finish it in the transaction as well.
	in, db2, _ := newIntake(t, bot.IntakeOptions{Acknowledge: true})
	for _, raw := range []string{"Subject: XSS\nthe login form\nMessage-ID: <1@x>", "REJECT wrong-key\nMessage-ID: <2@x>",
		"Subject: Re: XSS\nmore\nReferences: <1@x>\nMessage-ID: <3@x>"} {
		res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: []byte(raw)})
		if err != nil {
			t.Fatal(err)
		}
		if out, err := db2.ReportOutcome(ctx, res.ReportID); err != nil || !out.Finished {
			t.Errorf("%+v: outcome %+v (%v), want finished", res, out, err)
		}
	}
	if ids, err := db2.UnfinishedReports(ctx, t0.Add(time.Hour), 10); err != nil || len(ids) != 0 {
		t.Errorf("unfinished after intake: %v (%v)", ids, err)
	}
}
