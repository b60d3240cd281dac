package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/storage"
)

// fakeDecoder reads test messages: "Subject: S" on the first line, then
// the body; "References: <id>" answers that Message-ID; "REJECT reason" rejects, "PANIC" panics, "PLAIN" is not
// encrypted. Seal reverses the bytes, so a sealed report is visibly not
// the plaintext.
type fakeDecoder struct {
	mu      sync.Mutex
	decodes int
}

func (d *fakeDecoder) Envelope(raw []byte) bot.Envelope {
	env := bot.Envelope{Seal: bytes.Contains(raw, []byte("PLAIN"))}
	if i := bytes.Index(raw, []byte("Message-ID: ")); i >= 0 {
		env.MessageID = strings.Fields(string(raw[i+12:]))[0]
	}
	return env
}

func (d *fakeDecoder) Decode(raw []byte) (*bot.Report, error) {
	d.mu.Lock()
	d.decodes++
	d.mu.Unlock()
	s := string(raw)
	switch {
	case strings.Contains(s, "PANIC"):
		panic("parser bug")
	case strings.Contains(s, "REJECT "):
		reason := strings.Fields(s[strings.Index(s, "REJECT ")+7:])[0]
		return nil, bot.Reject(reason, "rejected by the test")
	}
	subject, body, _ := strings.Cut(s, "\n")
	rep := &bot.Report{
		Subject: strings.TrimPrefix(subject, "Subject: "), From: "rita@example.net",
		Parts: []bot.ReportPart{{Kind: bot.PartText, Encrypted: !strings.Contains(s, "PLAIN"), Text: body}},
	}
	if i := strings.Index(s, "References: "); i >= 0 {
		rep.References = strings.Fields(s[i+12:])[:1]
	}
	return rep, nil
}

func (d *fakeDecoder) Seal(raw []byte) ([]byte, error) {
	out := bytes.Clone(raw)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
func (d *fakeDecoder) Unseal(b []byte) ([]byte, error) {
	if bytes.HasPrefix(b, []byte("UNREADABLE")) {
		return nil, errors.New("openpgp: incorrect key")
	}
	return d.Seal(b)
}
func (d *fakeDecoder) Hash(raw []byte) (string, error) {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:]), nil
}

type sigRouter struct{}

func (sigRouter) Route(subject, body string, _ []string) string {
	if strings.Contains(body, "login form") {
		return "web"
	}
	return ""
}

func newIntake(t *testing.T, opts bot.IntakeOptions) (*bot.Intake, *storage.DB, *fakeDecoder) {
	t.Helper()
	db, _ := openDB(t)
	svc, _ := newService(t, db)
	st := svc.Settings()
	st.SIGs = append(st.SIGs, &bot.SIG{Name: "web", Lead: "alice"})
	st.ReporterMail = true
	dec := &fakeDecoder{}
	return bot.NewIntake(svc, db, dec, dec, sigRouter{}, discard(), opts), db, dec
}

func TestIntakeOutcomes(t *testing.T) {
	ctx := context.Background()
	in, db, _ := newIntake(t, bot.IntakeOptions{Acknowledge: true, OwnAddresses: []string{"security@example.org"}})
	receive := func(raw string) bot.IntakeResult {
		t.Helper()
		res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: []byte(raw)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	r := receive("Subject: XSS\nthe login form is vulnerable\nMessage-ID: <1@x>")
	inc, _ := db.Incident(ctx, r.IncidentID)
	if r.IncidentID != 1 || inc.SIG != "web" || inc.Title != "XSS" || !inc.Encrypted || inc.ReportID != r.ReportID {
		t.Fatalf("%+v %+v", r, inc)
	}
	if again := receive("Subject: XSS\nthe login form is vulnerable\nMessage-ID: <1@x>"); !again.Duplicate || again.IncidentID != 1 {
		t.Errorf("duplicate: %+v", again)
	}
	// Same Message-ID, other content: a report of its own, never folded
	// into the first (which a forger could have sent first), with a note.
	other := receive("Subject: XSS again\nthe login form is vulnerable!\nMessage-ID: <1@x>")
	if other.Duplicate || other.IncidentID == 0 || other.IncidentID == r.IncidentID || other.ReportID == r.ReportID {
		t.Errorf("same Message-ID, other content: %+v, want a new incident", other)
	}
	events, err := db.Events(ctx, other.IncidentID)
	if err != nil || len(events) == 0 || events[0].Kind != bot.EventCreated ||
		!strings.Contains(events[0].Details, "reused the Message-ID of SEC-1 but its content differs") {
		t.Errorf("no note on the new incident's timeline: %+v %v", events, err)
	}
	if again := receive("Subject: XSS again\nthe login form is vulnerable!\nMessage-ID: <1@x>"); !again.Duplicate || again.IncidentID != other.IncidentID {
		t.Errorf("re-delivery of the second: %+v", again)
	}
	q := receive("REJECT wrong-key\nMessage-ID: <2@x>")
	if q.QuarantineID == 0 || q.Reason != "wrong-key" || q.ReportID == 0 {
		t.Errorf("rejection: %+v", q)
	}
	// A rejected message under a known Message-ID is quarantined on its own, noted.
	q2 := receive("REJECT integrity-failed\nMessage-ID: <1@x>")
	if q2.QuarantineID == 0 || q2.QuarantineID == q.QuarantineID {
		t.Errorf("rejected, same Message-ID: %+v", q2)
	}
	if entries, _ := db.Quarantine(ctx, 1); len(entries) != 1 || !strings.Contains(entries[0].Detail, "reused the Message-ID of SEC-1") {
		t.Errorf("quarantine entry without the note: %+v", entries)
	}
	p := receive("PANIC")
	if p.Reason != bot.RejectParserCrash {
		t.Errorf("panic: %+v", p)
	}
	plain := receive("Subject: plain\nPLAIN body")
	kept, err := db.KeptReport(ctx, plain.ReportID)
	if err != nil || !kept.Sealed || bytes.Contains(kept.Raw, []byte("Subject: plain")) {
		t.Errorf("plaintext not sealed: %+v", kept)
	}
	if inc, _ := db.Incident(ctx, plain.IncidentID); inc.Encrypted {
		t.Error("plaintext incident marked encrypted")
	}

	// One acknowledgement per incident, one notice per quarantine entry.
	msgs, err := db.DueMessages(ctx, t0.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range msgs {
		count[m.Kind]++
		if m.Kind == bot.MessageMail && (m.Dest.Address != "rita@example.net" || !strings.Contains(bot.RenderPlain(m.Text), "track it as SEC-")) {
			t.Errorf("acknowledgement: %+v", m)
		}
	}
	if count[bot.MessageMail] != 3 || count[bot.MessageQuarantine] != 3 || count[bot.MessageNewIncident] != 3 {
		t.Errorf("queued: %v", count)
	}
}

func TestIntakeRefusesPlaintextWhenRequired(t *testing.T) {
	in, _, _ := newIntake(t, bot.IntakeOptions{RequireEncryption: true})
	res, err := in.Receive(context.Background(), bot.Submission{Source: bot.SourceWeb, Raw: []byte("Subject: s\nPLAIN")})
	if err != nil || res.Reason != bot.RejectNotEncrypted {
		t.Fatalf("%+v %v", res, err)
	}
}

// TestIntakeResumesInterruptedReports: a report stored by a process that
// died before committing its outcome, or after committing the incident but
// before the acknowledgement, is finished by Resume, once.
func TestIntakeResumesInterruptedReports(t *testing.T) {
	ctx := context.Background()
	in, db, dec := newIntake(t, bot.IntakeOptions{Acknowledge: true})
	// Died right after storing.
	id1, _, err := db.KeepReport(ctx, bot.KeptReport{ReceivedAt: t0.Add(-time.Hour), Source: "pipe", Hash: "h1", Raw: []byte("Subject: stranded\nbody")})
	if err != nil {
		t.Fatal(err)
	}
	// Died after storing a sealed plaintext report.
	sealed, _ := dec.Seal([]byte("Subject: sealed\nPLAIN body"))
	if _, _, err := db.KeepReport(ctx, bot.KeptReport{ReceivedAt: t0.Add(-time.Hour), Source: "web", Hash: "h2", Raw: sealed, Sealed: true}); err != nil {
		t.Fatal(err)
	}
	// Died after the incident, before the acknowledgement.
	res, err := in.Receive(ctx, bot.Submission{Source: "pipe", Raw: []byte("Subject: half done\nbody")})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ExecForTest(ctx, `UPDATE reports SET finished_at = NULL, received_at = 0 WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	if err := db.ExecForTest(ctx, `DELETE FROM outbox WHERE kind = 'mail'`); err != nil {
		t.Fatal(err)
	}
	// A fresh one is left to whoever is working on it.
	if _, _, err := db.KeepReport(ctx, bot.KeptReport{ReceivedAt: t0, Source: "pipe", Hash: "h4", Raw: []byte("Subject: fresh\nbody")}); err != nil {
		t.Fatal(err)
	}
	n, err := in.Resume(ctx, time.Minute)
	if err != nil || n != 3 {
		t.Fatalf("Resume: %d %v", n, err)
	}
	if n, _ := in.Resume(ctx, time.Minute); n != 0 {
		t.Errorf("second Resume finished %d more", n)
	}
	for id, title := range map[int64]string{1: "half done", 2: "stranded", 3: "sealed"} {
		if inc, err := db.Incident(ctx, id); err != nil || inc.Title != title {
			t.Errorf("incident %d: %+v %v", id, inc, err)
		}
	}
	out, _ := db.ReportOutcome(ctx, id1)
	if !out.Finished || out.IncidentID != 2 {
		t.Errorf("report 1: %+v", out)
	}
	if n, _ := db.CountIncidents(ctx, bot.IncidentFilter{}); n != 3 || res.IncidentID != 1 {
		t.Errorf("%d incidents", n)
	}
	msgs, _ := db.DueMessages(ctx, t0.Add(time.Hour), 100)
	mails := 0
	for _, m := range msgs {
		if m.Kind == bot.MessageMail {
			mails++
		}
	}
	if mails != 3 {
		t.Errorf("%d acknowledgements, want 3", mails)
	}
}

// TestOneIncidentPerReport: two processes finishing the same report at once
// make one incident; the database refuses the second.
func TestOneIncidentPerReport(t *testing.T) {
	ctx := context.Background()
	in, db, _ := newIntake(t, bot.IntakeOptions{})
	raw := []byte("Subject: race\nbody")
	var wg sync.WaitGroup
	results := make([]bot.IntakeResult, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = in.Receive(ctx, bot.Submission{Source: "pipe", Raw: raw})
		}()
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil || r.IncidentID != 1 {
			t.Errorf("receiver %d: %+v %v", i, r, errs[i])
		}
	}
	if n, _ := db.CountIncidents(ctx, bot.IncidentFilter{}); n != 1 {
		t.Errorf("%d incidents", n)
	}
	err := db.ExecForTest(ctx, `INSERT INTO incidents(title, sig, state, created_at, updated_at, state_since, last_activity, report_id)
		VALUES ('dup', 'core', 'new', 0, 0, 0, 0, 1)`)
	if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Errorf("a second incident for report 1: %v", err)
	}
}

func TestQuarantineUnstoredAndStoreErrors(t *testing.T) {
	ctx := context.Background()
	in, db, _ := newIntake(t, bot.IntakeOptions{MaxMessageBytes: 1024})
	big := bot.Submission{Source: "imap", Raw: []byte("Message-ID: <big@x>\n"), Oversized: true, Size: 1 << 30}
	r1, err := in.Receive(ctx, big)
	if err != nil || r1.Reason != bot.RejectTooLarge || r1.ReportID != 0 {
		t.Fatalf("%+v %v", r1, err)
	}
	if r2, _ := in.Receive(ctx, big); r2.QuarantineID != r1.QuarantineID || !r2.Duplicate {
		t.Errorf("oversized re-delivery: %+v", r2)
	}
	// Another oversized message under the same Message-ID is not that one.
	other := bot.Submission{Source: "imap", Raw: []byte("Message-ID: <big@x>\nFrom: eve\n"), Oversized: true, Size: 1 << 29}
	if r3, _ := in.Receive(ctx, other); r3.QuarantineID == r1.QuarantineID || r3.Duplicate {
		t.Errorf("another oversized message with the same Message-ID: %+v", r3)
	}
	q, _ := db.Quarantine(ctx, 10)
	if len(q) != 2 || q[1].Size != 1<<30 {
		t.Errorf("quarantine: %+v", q)
	}
	db.Close()
	if _, err := in.Receive(ctx, bot.Submission{Source: "pipe", Raw: []byte("Subject: x\nbody")}); err == nil {
		t.Error("Receive on a closed database succeeded")
	} else if _, ok := bot.AsRejection(err); ok || errors.Is(err, context.Canceled) {
		t.Errorf("store failure reported as %v", err)
	}
}

// TestUnreadableSealedReportIsQuarantined: a sealed report the team key
// cannot open any more is quarantined, not retried forever.
func TestUnreadableSealedReportIsQuarantined(t *testing.T) {
	ctx := context.Background()
	in, db, _ := newIntake(t, bot.IntakeOptions{})
	id, _, err := db.KeepReport(ctx, bot.KeptReport{ReceivedAt: t0.Add(-time.Hour), Source: "pipe", MessageID: "<old@x>", Hash: "h", Raw: []byte("UNREADABLE"), Sealed: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := in.Resume(ctx, time.Minute); n != 1 || err != nil {
		t.Fatalf("Resume: %d %v", n, err)
	}
	out, _ := db.ReportOutcome(ctx, id)
	if !out.Finished || out.QuarantineReason != bot.RejectWrongKey {
		t.Errorf("%+v", out)
	}
}

// TestMessageIDNotUniqueAfterMigration: a database made before migration
// 0007 (Message-ID unique) migrates, and then holds two reports under one
// Message-ID; the hash still dedupes.
func TestMessageIDNotUniqueAfterMigration(t *testing.T) {
	ctx := context.Background()
	// A database of the schema before 0006 and 0007: never sealed, so it
	// takes the raw rows below; the sealed open seals them in place.
	path := filepath.Join(t.TempDir(), "sectriage.db")
	db, err := storage.Open(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ExecForTest(ctx, `DELETE FROM schema_migrations WHERE version = 7; DROP INDEX reports_message_id;
		CREATE UNIQUE INDEX reports_message_id ON reports(message_id) WHERE message_id IS NOT NULL;
		INSERT INTO reports(received_at, source, message_id, sha256, raw) VALUES (1, 'pipe', '<m@x>', 'h0', x'00')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id, dup, err := db.KeepReport(ctx, bot.KeptReport{ReceivedAt: t0, Source: "pipe", MessageID: "<m@x>", Hash: "h1", Raw: []byte("other")})
	if err != nil || dup {
		t.Fatalf("a second report under a known Message-ID: %d %v %v", id, dup, err)
	}
	if first, err := db.SameMessageID(ctx, id); err != nil || first != 1 {
		t.Errorf("SameMessageID = %d, %v; want 1", first, err)
	}
	if again, dup, err := db.KeepReport(ctx, bot.KeptReport{ReceivedAt: t0, Source: "pipe", MessageID: "<other@x>", Hash: "h1", Raw: []byte("other")}); err != nil || !dup || again != id {
		t.Errorf("same content: %d %v %v, want duplicate of %d", again, dup, err, id)
	}
}
