package email_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/teamkey"
)

// surfaceDesk is the path from the anonymous form to the SMTP server: the
// form, the intake pipeline, the outbox and the mailer, on one clock.
type surfaceDesk struct {
	p       *pipeline
	sink    *smtpSink
	form    *httptest.Server
	outbox  *bot.Outbox
	mu      sync.Mutex
	notSent map[string]int
}

func newSurfaceDesk(t *testing.T, utf8 bool) *surfaceDesk {
	t.Helper()
	team, err := teamkey.Generate("Team", "security@example.org", t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d := &surfaceDesk{p: newPipeline(t, team, pipelineOptions{reporterMail: true}), sink: startSMTPSinkWith(t, utf8), notSent: map[string]int{}}
	d.outbox = bot.NewOutbox(d.p.db, d.p.clock, discard())
	d.outbox.Register(bot.PlatformEmail, d.mailer())
	d.outbox.Register(bot.PlatformConsole, bot.DeliverFunc(func(context.Context, bot.OutboxMessage) error { return nil }))
	mux := http.NewServeMux()
	mux.Handle("/report", email.NewFormHandler(d.p.in, email.FormOptions{
		MaxBytes: 64 << 10, RateLimit: 1000, RateWindow: time.Hour, To: "security@example.org", Now: d.p.clock.Now,
	}, discard()))
	d.form = httptest.NewServer(mux)
	t.Cleanup(d.form.Close)
	return d
}

// mailer is a new mailer on the desk's database, as after a restart.
func (d *surfaceDesk) mailer() *email.Mailer {
	return email.NewMailer(email.SMTPOptions{
		Address: d.sink.addr, TLS: "starttls", RootCAs: d.sink.roots, From: "security@example.org", Timeout: 5 * time.Second,
		Ledger: d.p.db, Now: d.p.clock.Now,
		NotSent: func(reason string) { d.mu.Lock(); d.notSent[reason]++; d.mu.Unlock() },
	}, d.p.team, d.p.in, discard())
}

func (d *surfaceDesk) submit(t *testing.T, addr, body string) {
	t.Helper()
	if code, out := postJSON(t, d.form.URL+"/report", map[string]string{"email": addr, "body": body}); code != http.StatusCreated {
		t.Fatalf("form: %d %v", code, out)
	}
}

func (d *surfaceDesk) flush(t *testing.T) {
	t.Helper()
	if err := d.outbox.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedAcknowledgementIsNotAnOutage: an anonymous form post with an
// address the server refuses leaves no dead letter and nothing pending
// (what /readyz reads), and is counted; a team reply to that address is
// still given up, for the team to see.
func TestRefusedAcknowledgementIsNotAnOutage(t *testing.T) {
	d := newSurfaceDesk(t, false)
	d.submit(t, "bounce@example.net", "report one")  // 550 to RCPT TO
	d.submit(t, "baddata@example.net", "report two") // 554 to the data
	d.flush(t)
	s, err := d.p.db.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Dead != 0 || s.Pending != 0 || !s.LastDead.IsZero() {
		t.Fatalf("after a refused acknowledgement: %+v", s)
	}
	if d.notSent["refused"] != 2 || len(d.sink.received()) != 0 {
		t.Fatalf("not sent %v, mails %d", d.notSent, len(d.sink.received()))
	}
	// The same server answer to the team's own reply is a dead letter.
	m := d.mailer()
	reply := bot.OutboxMessage{Kind: bot.MessageMail, IncidentID: 1, Dest: bot.Destination{Platform: bot.PlatformEmail, Address: "bounce@example.net"}, Text: bot.PlainText("hi")}
	var perm *bot.PermanentError
	if err := m.Deliver(context.Background(), reply); !errors.As(err, &perm) {
		t.Errorf("a refused reply: %v, want permanent", err)
	}
}

// TestTemporarilyRefusedAcknowledgement: a 4xx to RCPT TO is retried a
// few times, then settled as refused instead of holding the queue.
func TestTemporarilyRefusedAcknowledgement(t *testing.T) {
	d := newSurfaceDesk(t, false)
	m := d.mailer()
	msg := bot.OutboxMessage{Kind: bot.MessageMail, DedupeKey: "ack|report|1", Dest: bot.Destination{Platform: bot.PlatformEmail, Address: "later@example.net"}, Text: bot.PlainText("hi")}
	var perm *bot.PermanentError
	for attempts := 0; attempts < 2; attempts++ {
		msg.Attempts = attempts
		if err := m.Deliver(context.Background(), msg); err == nil || errors.As(err, &perm) || strings.Contains(err.Error(), "later@") {
			t.Errorf("attempt %d: %v, want a temporary error without the address", attempts+1, err)
		}
	}
	msg.Attempts = 2
	if err := m.Deliver(context.Background(), msg); err != nil || d.notSent["refused"] != 1 {
		t.Errorf("third attempt: %v, not sent %v", err, d.notSent)
	}
}

// unsafeAddresses carry every kind of character that could split a line
// or a command: C0 controls, DEL, C1 controls (NEL), Unicode separators.
func unsafeAddresses() []string {
	var out []string
	for _, c := range []string{"\x00", "\x01", "\t", "\n", "\r", "\r\nRCPT TO:<x@evil.example>", "\x1b", "\x7f", "\u0085", "\u009b", "\u2028", "\u2029"} {
		out = append(out, "rita"+c+"@example.net", "rita@exam"+c+"ple.net", c+"rita@example.net")
	}
	return out
}

// TestUnsafeAddressesNeverReachTheServer: whatever the outbox holds (an
// address from a mail's From goes there without the form's checks), no
// control or separator character reaches RCPT TO, and an acknowledgement
// to such an address is settled, not a dead letter.
func TestUnsafeAddressesNeverReachTheServer(t *testing.T) {
	d := newSurfaceDesk(t, true)
	m := d.mailer()
	var perm *bot.PermanentError
	for _, addr := range unsafeAddresses() {
		ack := bot.OutboxMessage{Kind: bot.MessageMail, DedupeKey: "ack|report|1", Dest: bot.Destination{Platform: bot.PlatformEmail, Address: addr}, Text: bot.PlainText("hi")}
		if err := m.Deliver(context.Background(), ack); err != nil {
			t.Errorf("acknowledgement to %q: %v, want settled", addr, err)
		}
		reply := ack
		reply.DedupeKey = ""
		if err := m.Deliver(context.Background(), reply); !errors.As(err, &perm) {
			t.Errorf("reply to %q: %v, want permanent", addr, err)
		}
	}
	if rcpts, _ := d.sink.recipients(); len(rcpts) != 0 {
		t.Errorf("RCPT TO reached the server: %q", rcpts)
	}
	if d.notSent["refused"] != len(unsafeAddresses()) {
		t.Errorf("not sent %v", d.notSent)
	}
}

// reportLookup answers every incident with one report.
type reportLookup struct{ rep *bot.Report }

func (l reportLookup) Report(context.Context, int64) (*bot.Report, error) { return l.rep, nil }

// RecordSentMail: these tests look at headers, not at threading.
func (l reportLookup) RecordSentMail(context.Context, bot.SentMail) error { return nil }

// TestReceivedMessageIDIsValidatedOrDropped: a received Message-ID goes
// into In-Reply-To and References only when it is a msg-id; control bytes
// and separators never reach an outgoing header.
func TestReceivedMessageIDIsValidatedOrDropped(t *testing.T) {
	sink := startSMTPSink(t)
	for id, kept := range map[string]bool{
		"<abc123@example.net>":                    true,
		"<abc\x01123@example.net>":                false,
		"<abc@example.net>\r\nBcc: x@example.org": false,
		"<abc\u0085@example.net>":                 false,
		"<abc\u2028@example.net>":                 false,
		"<abc\x00@example.net>":                   false,
		"abc123@example.net":                      false,
		"<abc 123@example.net>":                   false,
	} {
		m := email.NewMailer(email.SMTPOptions{Address: sink.addr, TLS: "starttls", RootCAs: sink.roots, From: "security@example.org", Timeout: 5 * time.Second},
			nil, reportLookup{&bot.Report{MessageID: id}}, discard())
		msg := bot.OutboxMessage{Kind: bot.MessageMail, IncidentID: 7, Dest: bot.Destination{Platform: bot.PlatformEmail, Address: "rita@example.net"}, Text: bot.PlainText("hi")}
		if err := m.Deliver(context.Background(), msg); err != nil {
			t.Fatalf("%q: %v", id, err)
		}
		mails := sink.received()
		data := mails[len(mails)-1].data
		head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
		if got := bytes.Contains(head, []byte("In-Reply-To: "+id+"\r\nReferences: "+id+"\r\n")); got != kept {
			t.Errorf("%q copied: %v, want %v:\n%s", id, got, kept, head)
		}
		if !kept && bytes.Contains(head, []byte("In-Reply-To")) {
			t.Errorf("%q: an In-Reply-To was made anyway:\n%s", id, head)
		}
		assertCleanHeader(t, head)
	}
}

// assertCleanHeader fails on any control or separator character in a
// header block but the CRLF that ends a line and folding whitespace.
func assertCleanHeader(t *testing.T, head []byte) {
	t.Helper()
	for i, line := range strings.Split(string(head), "\r\n") {
		for _, r := range line {
			if (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
				t.Errorf("header line %d holds %U: %q", i+1, r, line)
			}
		}
	}
}

// TestSMTPUTF8 sends to a UTF-8 address with SMTPUTF8 when the server
// offers it; without it the acknowledgement is settled as refused and
// nothing reaches RCPT TO.
func TestSMTPUTF8(t *testing.T) {
	const addr = "rité@exämple.net"
	for _, offered := range []bool{true, false} {
		d := newSurfaceDesk(t, offered)
		m := d.mailer()
		if _, known := m.UTF8Addresses(); known {
			t.Error("known before any session")
		}
		ack := bot.OutboxMessage{Kind: bot.MessageMail, DedupeKey: "ack|report|1", Dest: bot.Destination{Platform: bot.PlatformEmail, Address: addr}, Text: bot.PlainText("hi")}
		if err := m.Deliver(context.Background(), ack); err != nil {
			t.Fatal(err)
		}
		if got, known := m.UTF8Addresses(); got != offered || !known {
			t.Errorf("offered %v: UTF8Addresses %v %v", offered, got, known)
		}
		rcpts, utf8 := d.sink.recipients()
		if offered {
			if len(rcpts) != 1 || rcpts[0] != addr || !utf8[0] || len(d.sink.received()) != 1 {
				t.Errorf("with SMTPUTF8: rcpts %q utf8 %v", rcpts, utf8)
			} else {
				head, _, _ := bytes.Cut(d.sink.received()[0].data, []byte("\r\n\r\n"))
				assertCleanHeader(t, head)
			}
		} else if len(rcpts) != 0 || d.notSent["refused"] != 1 {
			t.Errorf("without SMTPUTF8: rcpts %q, not sent %v", rcpts, d.notSent)
		}
	}
}

// TestAcknowledgementCapPerRecipient: the form acknowledges one address
// at most once a day (its case and +tag do not make another), across a
// restart of the mailer, and the ledger keeps only keyed hashes. Reports
// by mail are not capped.
func TestAcknowledgementCapPerRecipient(t *testing.T) {
	d := newSurfaceDesk(t, false)
	d.submit(t, "rita@example.net", "first")
	d.submit(t, "Rita@EXAMPLE.net", "second")
	d.submit(t, "rita+again@example.net", "third")
	d.flush(t)
	if n := len(d.sink.received()); n != 1 || d.notSent["capped"] != 2 {
		t.Fatalf("%d acknowledgements, not sent %v; want 1 and 2 capped", n, d.notSent)
	}
	// A restart: a new mailer on the same database, 23 hours later.
	d.outbox.Register(bot.PlatformEmail, d.mailer())
	d.p.clock.Advance(23 * time.Hour)
	d.submit(t, "rita@example.net", "fourth")
	d.flush(t)
	if n := len(d.sink.received()); n != 1 || d.notSent["capped"] != 3 {
		t.Fatalf("after a restart: %d acknowledgements, not sent %v", n, d.notSent)
	}
	d.p.clock.Advance(2 * time.Hour) // a day after the first
	d.submit(t, "rita@example.net", "fifth")
	d.flush(t)
	if n := len(d.sink.received()); n != 2 {
		t.Fatalf("a day later: %d acknowledgements, want 2", n)
	}
	// Mail reports are acknowledged each time.
	for _, subject := range []string{"one", "two"} {
		d.p.receive(t, bot.SourceIMAP, gpgtest.PlainMail(t, gpgtest.Mail{From: "mira@example.com", Subject: subject, Body: subject + "\n"}))
	}
	d.flush(t)
	if n := len(d.sink.received()); n != 4 {
		t.Fatalf("mail reports: %d acknowledgements in all, want 4", n)
	}

	db, err := sql.Open("sqlite", "file:"+d.p.dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT address_hmac FROM ack_ledger`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	plain := sha256.Sum256([]byte("rita@example.net"))
	n := 0
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		n++
		if len(h) != 32 || bytes.Contains(h, []byte("rita")) || bytes.Equal(h, plain[:]) {
			t.Errorf("ledger row %x is not a keyed hash", h)
		}
	}
	if n != 1 {
		t.Errorf("%d ledger rows, want 1 (only form acknowledgements are recorded)", n)
	}
}
