package email_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// smtpSink is an in-process SMTP server that keeps what it receives.
type smtpSink struct {
	addr  string
	roots *x509.CertPool
	mu    sync.Mutex
	mails []sunkMail
	auth  []string
	// rcpts is every RCPT TO the server was sent, taken or not, and
	// utf8 whether the MAIL FROM before it asked for SMTPUTF8.
	rcpts []string
	utf8  []bool
}

type sunkMail struct {
	from string
	to   []string
	data []byte
}

func startSMTPSink(t *testing.T) *smtpSink { return startSMTPSinkWith(t, false) }

// startSMTPSinkWith starts a sink that offers SMTPUTF8 when utf8 is set.
func startSMTPSinkWith(t *testing.T, utf8 bool) *smtpSink {
	t.Helper()
	cert, roots := selfSigned(t)
	s := &smtpSink{roots: roots}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.EnableSMTPUTF8 = utf8
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpSink) recipients() ([]string, []bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rcpts...), append([]bool(nil), s.utf8...)
}

func (s *smtpSink) received() []sunkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunkMail(nil), s.mails...)
}

type sinkSession struct {
	s    *smtpSink
	from string
	utf8 bool
	to   []string
}

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		ss.s.mu.Lock()
		ss.s.auth = append(ss.s.auth, user+":"+pass)
		ss.s.mu.Unlock()
		if pass != "smtp secret" {
			return &smtp.SMTPError{Code: 535, Message: "bad password"}
		}
		return nil
	}), nil
}
func (ss *sinkSession) Mail(from string, o *smtp.MailOptions) error {
	ss.from, ss.utf8 = from, o != nil && o.UTF8
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	ss.s.rcpts = append(ss.s.rcpts, to)
	ss.s.utf8 = append(ss.s.utf8, ss.utf8)
	ss.s.mu.Unlock()
	if strings.HasPrefix(to, "bounce") {
		return &smtp.SMTPError{Code: 550, Message: "<" + to + ">: no such user"}
	}
	if strings.HasPrefix(to, "later") {
		return &smtp.SMTPError{Code: 450, Message: "<" + to + ">: domain not found, try again"}
	}
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(ss.to) == 1 && strings.HasPrefix(ss.to[0], "baddata") {
		return &smtp.SMTPError{Code: 554, Message: "rejected by the recipient's policy"}
	}
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, sunkMail{from: ss.from, to: ss.to, data: b})
	ss.s.mu.Unlock()
	return nil
}
func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestAcknowledgementAndReplyByMail runs a report through the pipeline and
// the outbox into a real SMTP session (STARTTLS, AUTH PLAIN), then has gpg
// decrypt what the reporter got and check the team's signature.
func TestAcknowledgementAndReplyByMail(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{known: f.known, reporterMail: true})
	sink := startSMTPSink(t)
	mailer := email.NewMailer(email.SMTPOptions{
		Address: sink.addr, TLS: "starttls", RootCAs: sink.roots, Username: "security@example.org", Password: "smtp secret",
		From: "security@example.org", Timeout: 10 * time.Second,
	}, f.team, p.in, discard())
	outbox := bot.NewOutbox(p.db, p.clock, discard())
	outbox.Register(bot.PlatformEmail, mailer)
	outbox.Register(bot.PlatformConsole, bot.DeliverFunc(func(context.Context, bot.OutboxMessage) error { return nil }))
	ctx := context.Background()

	signed := f.g.PGPMIME(t, gpgtest.Mail{From: "Rita Reporter <reporter@example.net>", Subject: "Heap overflow", MessageID: "abc123@example.net",
		Body: "The details.\n"}, []*gpgtest.Key{f.teamG}, gpgtest.MIMEOptions{SignWith: f.reporter, ProtectedHeaders: true})
	plain := gpgtest.PlainMail(t, gpgtest.Mail{From: "someone@example.com", Subject: "plain", Body: "hi\n"})
	auto := []byte("From: mailer-daemon@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nI am away.\r\n")
	r1 := p.receive(t, bot.SourceIMAP, signed)
	r2 := p.receive(t, bot.SourceIMAP, plain)
	p.receive(t, bot.SourceIMAP, auto)
	if err := outbox.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mails := sink.received()
	if len(mails) != 2 {
		t.Fatalf("%d mails sent, want 2 acknowledgements (none to the auto-reply)", len(mails))
	}
	byTo := map[string][]byte{}
	for _, m := range mails {
		byTo[m.to[0]] = m.data
		if m.from != "security@example.org" {
			t.Errorf("envelope sender %q", m.from)
		}
	}
	ack := byTo["reporter@example.net"]
	if !bytes.Contains(ack, []byte("multipart/encrypted")) || bytes.Contains(ack, []byte("SEC-1 ")) ||
		!bytes.Contains(ack, []byte("In-Reply-To: <abc123@example.net>")) || !bytes.Contains(ack, []byte("Auto-Submitted: auto-replied")) {
		t.Fatalf("acknowledgement to a reporter with a key is not PGP/MIME as expected:\n%s", ack)
	}
	plainText, stderr := f.g.Decrypt(t, armoredPayload(t, ack))
	// The acknowledgement asks how to credit the reporter (issue 13:
	// consent and the name they chose).
	if !strings.Contains(string(plainText), "track it as SEC-1") || !strings.Contains(string(plainText), `"no credit"`) ||
		!strings.Contains(stderr, `Good signature from "Security Team`) {
		t.Errorf("gpg: %s\n%s", plainText, stderr)
	}
	if unenc := byTo["someone@example.com"]; !bytes.Contains(unenc, []byte("track it as SEC-2")) || bytes.Contains(unenc, []byte("encrypted")) {
		t.Errorf("plain acknowledgement:\n%s", unenc)
	}

	// reply: the assignee mails the reporter; encrypted again.
	bob := bot.Actor{Person: p.svc.Settings().People.ByName("bob"), Platform: bot.PlatformCLI}
	if _, err := p.svc.ReplyToReporter(ctx, bob, bot.AssigneeOrOfficer, r1.IncidentID, "We confirmed the bug; a fix is planned for 5.9."); err != nil {
		t.Fatal(err)
	}
	if _, err := p.svc.ReplyToReporter(ctx, bot.Actor{Person: p.svc.Settings().People.ByName("alice"), Platform: bot.PlatformCLI}, bot.AssigneeOrOfficer, r2.IncidentID, "Please encrypt next time."); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mails = sink.received()
	if len(mails) != 4 {
		t.Fatalf("%d mails, want 4", len(mails))
	}
	reply, _ := f.g.Decrypt(t, armoredPayload(t, mails[2].data))
	if !strings.Contains(string(reply), "a fix is planned for 5.9") || bytes.Contains(mails[2].data, []byte("5.9")) {
		t.Errorf("reply: %s", reply)
	}
	if !bytes.Contains(mails[3].data, []byte("Please encrypt next time.")) {
		t.Errorf("plain reply:\n%s", mails[3].data)
	}
}

// armoredPayload cuts the armored message out of a PGP/MIME mail.
func armoredPayload(t testing.TB, mail []byte) []byte {
	t.Helper()
	i := bytes.Index(mail, []byte("-----BEGIN PGP MESSAGE-----"))
	j := bytes.Index(mail, []byte("-----END PGP MESSAGE-----"))
	if i < 0 || j < 0 {
		t.Fatalf("no armored message in:\n%s", mail)
	}
	return mail[i : j+len("-----END PGP MESSAGE-----\r\n")]
}

func TestMailerPermanentAndTemporaryFailures(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{reporterMail: true})
	sink := startSMTPSink(t)
	opts := email.SMTPOptions{Address: sink.addr, TLS: "starttls", RootCAs: sink.roots, From: "security@example.org", Timeout: 5 * time.Second}
	m := email.NewMailer(opts, f.team, p.in, discard())
	ctx := context.Background()
	msg := bot.OutboxMessage{Kind: bot.MessageMail, Dest: bot.Destination{Platform: bot.PlatformEmail, Address: "bounce@example.com"}, Text: bot.PlainText("hi")}
	var perm *bot.PermanentError
	if err := m.Deliver(ctx, msg); !asPermanent(err, &perm) {
		t.Errorf("550 from the server: %v, want permanent", err)
	} else if strings.Contains(strings.ToLower(err.Error()), "bounce@example.com") || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("the server's answer, logged and stored, must keep its reason and lose the reporter's address: %v", err)
	}
	msg.Dest.Address = "Bob <bob@example.com>"
	if err := m.Deliver(ctx, msg); !asPermanent(err, &perm) {
		t.Errorf("an address with a name: %v, want permanent", err)
	}
	opts.Username, opts.Password = "security@example.org", "wrong"
	msg.Dest.Address = "bob@example.com"
	if err := email.NewMailer(opts, f.team, p.in, discard()).Deliver(ctx, msg); !asPermanent(err, &perm) {
		t.Errorf("535 on AUTH: %v, want permanent", err)
	}
	// No server: retried later.
	opts.Address = "127.0.0.1:1"
	if err := email.NewMailer(opts, f.team, p.in, discard()).Deliver(ctx, msg); err == nil || asPermanent(err, &perm) {
		t.Errorf("connection refused: %v, want a temporary error", err)
	}
}

func asPermanent(err error, target **bot.PermanentError) bool {
	if err == nil {
		return false
	}
	pe, ok := err.(*bot.PermanentError)
	if ok {
		*target = pe
	}
	return ok
}
