package email

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/header"
	"github.com/sectriage/sectriage/teamkey"
)

// SMTPOptions say how to reach the outgoing mail server.
type SMTPOptions struct {
	Address  string // host:port
	TLS      string // "starttls", "implicit" or "none"
	RootCAs  *x509.CertPool
	Username string // empty: no authentication
	Password string
	From     string // the envelope and header sender
	Timeout  time.Duration
	// MemberKeys are the keys of team members notified by mail
	// (notify = "email"), by person name: their mail is always encrypted
	// to these, and never sent without one.
	MemberKeys map[string]*openpgp.Entity
	// Ledger remembers which addresses the form's acknowledgements went
	// to, for the cap of one a day; nil: no cap (tests of other things).
	Ledger AckLedger
	// NotSent is told of an acknowledgement settled without being sent:
	// reason "refused" (the server will not take the address) or
	// "capped" (this address had one within a day). May be nil.
	NotSent func(reason string)
	Now     func() time.Time
}

// AckLedger records acknowledgements by a keyed hash of the address, so
// that the cap survives restarts without the database keeping addresses
// in the clear.
type AckLedger interface {
	AcknowledgedSince(ctx context.Context, key []byte, since time.Time) (bool, error)
	RecordAcknowledgement(ctx context.Context, key []byte, at time.Time) error
}

// ackCapWindow is how often one address may be acknowledged from the form.
const ackCapWindow = 24 * time.Hour

// refusedAttempts is how many times an acknowledgement whose recipient is
// temporarily refused (4xx to RCPT TO) is tried before it is settled as
// refused: a reporter's broken domain must not hold the mail queue.
const refusedAttempts = 3

// ReportLookup finds the decoded report of an incident: the reporter's key
// and the Message-ID to answer.
type ReportLookup interface {
	Report(ctx context.Context, incidentID int64) (*bot.Report, error)
	// RecordSentMail remembers a mail about an incident before it is
	// sent: a reply naming its Message-ID, or sent to the reply address
	// with its token, finds the incident.
	RecordSentMail(ctx context.Context, m bot.SentMail) error
}

// Mailer delivers the outbox's mail to reporters over SMTP (the
// bot.PlatformEmail deliverer): encrypted to the reporter's key and signed
// by the team when a key is known, plain text otherwise.
type Mailer struct {
	opts    SMTPOptions
	team    *teamkey.Key
	reports ReportLookup
	log     *slog.Logger
	capKey  []byte // keys the ledger's address hashes; nil: no cap

	// utf8 is what the server said of SMTPUTF8 in its last EHLO: 0
	// unknown (no session yet), 1 offered, 2 not offered.
	utf8 atomic.Int32
}

var _ bot.Deliverer = (*Mailer)(nil)

// NewMailer makes the deliverer. team signs encrypted mail; reports finds
// reporters' keys. Either may be nil (no team key configured): then mail
// goes unsigned, or unencrypted.
func NewMailer(opts SMTPOptions, team *teamkey.Key, reports ReportLookup, log *slog.Logger) *Mailer {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Mailer{opts: opts, team: team, reports: reports, log: log.With("adapter", "smtp")}
	if team != nil && opts.Ledger != nil {
		// v2: derived from the decryption subkey, no longer the primary key.
		key, err := team.DeriveSecret("acknowledgement cap v2")
		if err != nil {
			m.log.Error("no per-address cap on acknowledgements", "err", err)
		} else {
			m.capKey = key
		}
	}
	return m
}

// UTF8Addresses reports whether the server offered SMTPUTF8 in the last
// session, which mail to an address with UTF-8 in it needs; known is
// false before the first session (the daemon opens one at start).
func (m *Mailer) UTF8Addresses() (offered, known bool) {
	switch m.utf8.Load() {
	case 1:
		return true, true
	case 2:
		return false, true
	}
	return false, false
}

// Deliver implements bot.Deliverer. An acknowledgement the server will
// not take for its recipient is the reporter's problem (the form and any
// mail's From name addresses nobody proved): it is logged without the
// address, counted, and settled, never a dead letter, so that nothing an
// anonymous reporter types can make the daemon look broken. Any other
// mail refused for its recipient is given up, for the team to see.
func (m *Mailer) Deliver(ctx context.Context, msg bot.OutboxMessage) error {
	if msg.Dest.Person != "" {
		return m.deliverToMember(ctx, msg)
	}
	if msg.Kind != bot.MessageMail || msg.Dest.Address == "" {
		return bot.Permanent(fmt.Errorf("the mail adapter only sends mail to an address, not %s to %s", msg.Kind, msg.Dest))
	}
	ack := isAcknowledgement(msg)
	needUTF8, err := header.Address(msg.Dest.Address)
	if err != nil {
		return m.refused(msg, ack, err)
	}
	var rep *bot.Report
	if msg.IncidentID != 0 && m.reports != nil {
		r, err := m.reports.Report(ctx, msg.IncidentID)
		switch {
		case err == nil:
			rep = r
		case bot.KindOf(err) == bot.KindNotFound || bot.KindOf(err) == bot.KindInvalid:
			// No readable report (opened by hand, or no longer decodable): no key.
		default:
			return fmt.Errorf("reading the report for its key: %w", err)
		}
	}
	var capHash []byte
	if ack && m.capKey != nil && fromForm(rep) {
		capHash = m.capHash(msg.Dest.Address)
		done, err := m.opts.Ledger.AcknowledgedSince(ctx, capHash, m.opts.Now().Add(-ackCapWindow))
		if err != nil {
			return fmt.Errorf("reading the acknowledgement ledger: %w", err)
		}
		if done {
			m.log.Info("acknowledgement not sent: the form acknowledged this address within a day", "incident", msg.IncidentID, "outbox", msg.ID)
			m.notSent("capped")
			return nil
		}
	}
	name := ""
	if msg.IncidentID != 0 {
		name = bot.FormatID(msg.IncidentID)
	}
	in := composeInput{
		From: m.opts.From, To: msg.Dest.Address, Incident: name, Body: bot.RenderPlain(msg.Text),
		Report: rep, Auto: ack, Now: m.opts.Now(),
		MessageID: "<" + randomToken() + "@" + domainOf(m.opts.From) + ">",
	}
	if msg.IncidentID != 0 && m.reports != nil {
		// Each mail about an incident carries a fresh reply token; only
		// its hash is kept. Recorded first: a reply can never arrive for
		// a mail the store does not know.
		token, hash := bot.NewReplyToken()
		replyTo, err := bot.ReplyAddress(m.opts.From, token)
		if err != nil {
			return bot.Permanent(err)
		}
		if err := m.reports.RecordSentMail(ctx, bot.SentMail{IncidentID: msg.IncidentID, MessageID: in.MessageID,
			ReplyTokenHash: hash, SentAt: in.Now}); err != nil {
			return fmt.Errorf("recording the mail for replies: %w", err)
		}
		in.ReplyTo = replyTo
	}
	out, encrypted, err := composeMail(m.team, in)
	if err != nil {
		return bot.Permanent(fmt.Errorf("composing mail: %w", err))
	}
	if err := m.send(ctx, msg.Dest.Address, needUTF8, out); err != nil {
		var re *recipientError
		if errors.As(err, &re) && (!re.temporary || msg.Attempts+1 >= refusedAttempts) {
			return m.refused(msg, ack, re)
		}
		return err
	}
	if capHash != nil {
		if err := m.opts.Ledger.RecordAcknowledgement(ctx, capHash, m.opts.Now()); err != nil {
			m.log.Error("acknowledgement sent but not recorded for the daily cap", "incident", msg.IncidentID, "err", err)
		}
	}
	m.log.Info("mailed the reporter", "incident", msg.IncidentID, "outbox", msg.ID, "encrypted", encrypted)
	return nil
}

// refused settles an acknowledgement whose recipient cannot be mailed and
// gives up on any other mail. err never holds the address.
func (m *Mailer) refused(msg bot.OutboxMessage, ack bool, err error) error {
	if !ack {
		return bot.Permanent(fmt.Errorf("the reporter's address: %w", err))
	}
	m.log.Warn("acknowledgement not sent: the reporter's address is refused; nothing to retry", "incident", msg.IncidentID, "outbox", msg.ID, "reason", err.Error())
	m.notSent("refused")
	return nil
}

func (m *Mailer) notSent(reason string) {
	if m.opts.NotSent != nil {
		m.opts.NotSent(reason)
	}
}

// capHash is the ledger's key for an address: an HMAC under a secret only
// the team key's holder can derive, of the address as mail servers tell
// addresses apart (case folded, the +tag cut), so that neither case nor a
// tag makes a new address, and the database never holds the address.
func (m *Mailer) capHash(addr string) []byte {
	addr = strings.ToLower(addr)
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr[:at], addr[at+1:]
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	mac := hmac.New(sha256.New, m.capKey)
	mac.Write([]byte(local + "@" + domain))
	return mac.Sum(nil)
}

// fromForm reports whether a report came in by the web form, whose
// Message-IDs are all in formMessageIDDomain.
func fromForm(rep *bot.Report) bool {
	return rep != nil && strings.HasSuffix(rep.MessageID, "@"+formMessageIDDomain+">")
}

func isAcknowledgement(msg bot.OutboxMessage) bool {
	return len(msg.DedupeKey) > 4 && msg.DedupeKey[:4] == "ack|"
}

// recipientError is a refusal of the recipient, not of our server: an
// answer to RCPT TO, a 5xx to the data of a single-recipient message, or
// an address that needs SMTPUTF8 from a server that does not offer it. It
// never holds the address.
type recipientError struct {
	msg       string
	temporary bool
}

func (e *recipientError) Error() string { return e.msg }

// send delivers one message in its own SMTP session. A 5xx answer is
// permanent; anything else is retried by the outbox. A refused recipient
// is a *recipientError.
func (m *Mailer) send(ctx context.Context, to string, needUTF8 bool, data []byte) error {
	authErr := func(what string, err error) error { return smtpError(what, to, err) }
	return m.session(ctx, authErr, func(c *smtp.Client) error {
		var opts *smtp.MailOptions
		if needUTF8 {
			if ok, _ := c.Extension("SMTPUTF8"); !ok {
				return &recipientError{msg: "the address has UTF-8 in it and the mail server does not offer SMTPUTF8"}
			}
			opts = &smtp.MailOptions{UTF8: true}
		}
		if err := c.Mail(m.opts.From, opts); err != nil {
			return smtpError("MAIL FROM", to, err)
		}
		if err := c.Rcpt(to, nil); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) {
				return &recipientError{msg: smtpError("RCPT TO", to, err).Error(), temporary: se.Code < 500}
			}
			return smtpError("RCPT TO", to, err)
		}
		w, err := c.Data()
		if err != nil {
			return smtpError("DATA", to, err)
		}
		if _, err := w.Write(data); err != nil {
			w.Close()
			return smtpError("sending", to, err)
		}
		if err := w.Close(); err != nil {
			// With one recipient, a 5xx to the data is as likely the
			// recipient's policy as anything of ours.
			var se *smtp.SMTPError
			if errors.As(err, &se) && se.Code >= 500 {
				return &recipientError{msg: smtpError("sending", to, err).Error()}
			}
			return smtpError("sending", to, err)
		}
		return nil
	})
}

// session connects, secures the connection, authenticates, runs fn and
// says QUIT, all within the configured timeout. authErr wraps a failed
// login.
func (m *Mailer) session(ctx context.Context, authErr func(string, error) error, fn func(*smtp.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	c, err := m.dial(ctx)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", m.opts.Address, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		m.utf8.Store(1)
	} else {
		m.utf8.Store(2)
	}
	if m.opts.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", m.opts.Username, m.opts.Password)); err != nil {
			return authErr("authenticating as "+m.opts.Username, err)
		}
	}
	if err := fn(c); err != nil {
		return err
	}
	return c.Quit()
}

// smtpError classifies a failure: a 5xx answer is permanent. Servers quote
// the recipient in their answers ("550 <rita@example.net>: no such
// user"), and the error is logged and kept in the outbox, where reporters'
// addresses never go, so the address is cut out of the text.
func smtpError(what, to string, err error) error {
	text := err.Error()
	if to != "" {
		text = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(to)).ReplaceAllLiteralString(text, "<the reporter's address>")
	}
	out := fmt.Errorf("%s: %s", what, text)
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return bot.Permanent(out)
	}
	return out
}

func (m *Mailer) dial(ctx context.Context) (*smtp.Client, error) {
	host, _, err := net.SplitHostPort(m.opts.Address)
	if err != nil {
		return nil, err
	}
	tlsConfig := &tls.Config{ServerName: host, RootCAs: m.opts.RootCAs, MinVersion: tls.VersionTLS12}
	d := &net.Dialer{Timeout: m.opts.Timeout}
	switch m.opts.TLS {
	case "implicit":
		conn, err := (&tls.Dialer{NetDialer: d, Config: tlsConfig}).DialContext(ctx, "tcp", m.opts.Address)
		if err != nil {
			return nil, err
		}
		return newSMTPClient(conn, m.opts.Timeout), nil
	case "none":
		conn, err := d.DialContext(ctx, "tcp", m.opts.Address)
		if err != nil {
			return nil, err
		}
		return newSMTPClient(conn, m.opts.Timeout), nil
	default:
		conn, err := d.DialContext(ctx, "tcp", m.opts.Address)
		if err != nil {
			return nil, err
		}
		// Fails when the server does not offer STARTTLS: never send in the clear.
		c, err := smtp.NewClientStartTLS(conn, tlsConfig)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
		c.CommandTimeout, c.SubmissionTimeout = m.opts.Timeout, m.opts.Timeout
		return c, nil
	}
}

func newSMTPClient(conn net.Conn, timeout time.Duration) *smtp.Client {
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = timeout, timeout
	return c
}

// Check connects, secures the connection and authenticates, for
// `sectriage check`.
func (m *Mailer) Check(ctx context.Context) error {
	return m.session(ctx, func(what string, err error) error { return fmt.Errorf("%s: %w", what, err) },
		func(*smtp.Client) error { return nil })
}
