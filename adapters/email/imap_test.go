package email_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/dovecot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// switchable fails every Receive while broken is set, as a database that
// cannot be written would.
type switchable struct {
	in     email.Receiver
	broken atomic.Bool
	calls  atomic.Int32
}

func (s *switchable) Receive(ctx context.Context, sub bot.Submission) (bot.IntakeResult, error) {
	s.calls.Add(1)
	if s.broken.Load() {
		return bot.IntakeResult{}, errors.New("database is locked")
	}
	return s.in.Receive(ctx, sub)
}

func roots(t *testing.T, certFile string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

func runIMAP(t *testing.T, opts email.IMAPOptions, recv email.Receiver) (src *email.IMAP, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	src = email.NewIMAP(opts, recv, discard())
	go func() { done <- src.Run(ctx) }()
	return src, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	}
}

func TestIMAPDeliveryBecomesIncidentAndIsMoved(t *testing.T) {
	// Mailboxes exist so the test can watch them; the bot creates them too.
	srv := dovecot.Start(t, dovecot.Options{TLS: true, Mailboxes: []string{"Processed", "Quarantine"}})
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{known: f.known})
	recv := &switchable{in: p.in}
	_, stop := runIMAP(t, email.IMAPOptions{
		Address: srv.TLSAddr, TLS: "implicit", RootCAs: roots(t, srv.CertFile), Username: srv.Username, Password: srv.Password,
		DoneMailbox: "Processed", QuarantineMailbox: "Quarantine", PollInterval: 2 * time.Second,
		MaxMessageBytes: 1 << 20, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	}, recv)
	defer stop()
	to := []*gpgtest.Key{f.teamG}
	wait := 15 * time.Second

	// A report arrives while the bot idles: an incident, and the mail moves.
	srv.Deliver(t, f.g.PGPMIME(t, gpgtest.Mail{Subject: "SSRF in the webhook tester", Body: "details\n"}, to, gpgtest.MIMEOptions{}))
	done := srv.WaitMessages(t, "Processed", wait, func(ms []dovecot.MessageInfo) bool { return len(ms) == 1 })
	if !done[0].HasFlag(imap.FlagSeen) {
		t.Errorf("moved message not \\Seen: %v", done[0].Flags)
	}
	if inc := p.incident(t, 1); inc.Title != "SSRF in the webhook tester" || !inc.Encrypted {
		t.Errorf("incident %+v", inc)
	}
	if len(srv.Messages(t, "INBOX")) != 0 {
		t.Error("INBOX not empty")
	}

	// A message that cannot be decrypted is quarantined, and moved apart.
	srv.Deliver(t, gpgtest.PGPMIMEEnvelope(gpgtest.Mail{}, f.g.WrongRecipient(t, []byte("x"))))
	q := srv.WaitMessages(t, "Quarantine", wait, func(ms []dovecot.MessageInfo) bool { return len(ms) == 1 })
	if !q[0].HasFlag(imap.FlagFlagged) {
		t.Errorf("quarantined message not flagged: %v", q[0].Flags)
	}
	// An oversized one is quarantined from its header alone.
	srv.Deliver(t, f.g.OversizedMail(t, gpgtest.Mail{}, to, 2<<20))
	srv.WaitMessages(t, "Quarantine", wait, func(ms []dovecot.MessageInfo) bool { return len(ms) == 2 })
	if qs := p.quarantine(t); len(qs) != 2 || qs[0].Reason != bot.RejectTooLarge || qs[0].ReportID != 0 || qs[1].Reason != bot.RejectWrongKey {
		t.Errorf("quarantine: %+v", qs)
	}

	// While the database fails, mail stays in the INBOX; it is handled
	// once the database works again.
	recv.broken.Store(true)
	before := recv.calls.Load()
	srv.Deliver(t, f.g.PGPMIME(t, gpgtest.Mail{Subject: "Second report"}, to, gpgtest.MIMEOptions{}))
	deadline := time.Now().Add(wait)
	for recv.calls.Load() < before+2 && time.Now().Before(deadline) { // offered, failed, offered again
		time.Sleep(20 * time.Millisecond)
	}
	if in := srv.Messages(t, "INBOX"); len(in) != 1 {
		t.Fatalf("INBOX has %d messages while the database fails, want the 1 unhandled", len(in))
	}
	recv.broken.Store(false)
	srv.WaitMessages(t, "Processed", wait, func(ms []dovecot.MessageInfo) bool { return len(ms) == 2 })

	// The server restarts: the bot reconnects and carries on.
	srv.Restart(t)
	srv.Deliver(t, f.g.PGPMIME(t, gpgtest.Mail{Subject: "After the restart"}, to, gpgtest.MIMEOptions{}))
	srv.WaitMessages(t, "Processed", wait, func(ms []dovecot.MessageInfo) bool { return len(ms) == 3 })
	if inc := p.incident(t, 3); inc.Title != "After the restart" {
		t.Errorf("incident 3: %q", inc.Title)
	}
	if n, _ := p.db.CountIncidents(context.Background(), bot.IncidentFilter{}); n != 3 {
		t.Errorf("%d incidents, want 3", n)
	}
}

// TestIMAPStartTLSAndRedelivery: a message handled before a crash (its
// incident committed, the move lost) is moved on the next run without a
// second incident.
func TestIMAPStartTLSAndRedelivery(t *testing.T) {
	srv := dovecot.Start(t, dovecot.Options{TLS: true, Mailboxes: []string{"Processed"}})
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{})
	raw := f.g.PGPMIME(t, gpgtest.Mail{Subject: "Handled before the crash"}, []*gpgtest.Key{f.teamG}, gpgtest.MIMEOptions{})
	first := p.receive(t, bot.SourceIMAP, raw) // the crashed run got this far
	srv.Deliver(t, raw)
	src, stop := runIMAP(t, email.IMAPOptions{
		Address: srv.Addr, TLS: "starttls", RootCAs: roots(t, srv.CertFile), Username: srv.Username, Password: srv.Password,
		PollInterval: time.Second, MinBackoff: 50 * time.Millisecond,
	}, p.in)
	defer stop()
	select { // the daemon's readiness waits on this
	case <-src.Ready():
		if !src.Watching() {
			t.Error("Ready, but not watching")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("never Ready")
	}
	srv.WaitMessages(t, "Processed", 15*time.Second, func(ms []dovecot.MessageInfo) bool { return len(ms) == 1 })
	if n, _ := p.db.CountIncidents(context.Background(), bot.IncidentFilter{}); n != 1 || first.IncidentID != 1 {
		t.Errorf("%d incidents, want 1", n)
	}
}

func TestIMAPWrongPasswordRetries(t *testing.T) {
	srv := dovecot.Start(t, dovecot.Options{})
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{})
	recv := &switchable{in: p.in}
	start := time.Now()
	src, stop := runIMAP(t, email.IMAPOptions{
		Address: srv.Addr, TLS: "none", Username: srv.Username, Password: "wrong",
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
	}, recv)
	time.Sleep(300 * time.Millisecond) // let it fail a few times
	stop()
	if recv.calls.Load() != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("calls %d", recv.calls.Load())
	}
	select {
	case <-src.Ready():
		t.Error("Ready without ever logging in")
	default:
	}
}
