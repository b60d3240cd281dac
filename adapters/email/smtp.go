package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/ProtonMail/go-crypto/openpgp"
	"log/slog"
	"net"
	"net/mail"
	"regexp"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/sectriage/sectriage/bot"
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
}

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
}

var _ bot.Deliverer = (*Mailer)(nil)

// NewMailer makes the deliverer. team signs encrypted mail; reports finds
// reporters' keys. Either may be nil (no team key configured): then mail
// goes unsigned, or unencrypted.
func NewMailer(opts SMTPOptions, team *teamkey.Key, reports ReportLookup, log *slog.Logger) *Mailer {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	return &Mailer{opts: opts, team: team, reports: reports, log: log.With("adapter", "smtp")}
}

// Deliver implements bot.Deliverer.
func (m *Mailer) Deliver(ctx context.Context, msg bot.OutboxMessage) error {
	if msg.Dest.Person != "" {
		return m.deliverToMember(ctx, msg)
	}
	if msg.Kind != bot.MessageMail || msg.Dest.Address == "" {
		return bot.Permanent(fmt.Errorf("the mail adapter only sends mail to an address, not %s to %s", msg.Kind, msg.Dest))
	}
	if a, err := mail.ParseAddress(msg.Dest.Address); err != nil || a.Address != msg.Dest.Address {
		return bot.Permanent(errors.New("the reporter's address is not a plain e-mail address"))
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
	name := ""
	if msg.IncidentID != 0 {
		name = bot.FormatID(msg.IncidentID)
	}
	in := composeInput{
		From: m.opts.From, To: msg.Dest.Address, Incident: name, Body: bot.RenderPlain(msg.Text),
		Report: rep, Auto: isAcknowledgement(msg), Now: time.Now(),
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
	if err := m.send(ctx, msg.Dest.Address, out); err != nil {
		return err
	}
	m.log.Info("mailed the reporter", "incident", msg.IncidentID, "outbox", msg.ID, "encrypted", encrypted)
	return nil
}

func isAcknowledgement(msg bot.OutboxMessage) bool {
	return len(msg.DedupeKey) > 4 && msg.DedupeKey[:4] == "ack|"
}

// send delivers one message in its own SMTP session. A 5xx answer is
// permanent; anything else is retried by the outbox.
func (m *Mailer) send(ctx context.Context, to string, data []byte) error {
	authErr := func(what string, err error) error { return smtpError(what, to, err) }
	return m.session(ctx, authErr, func(c *smtp.Client) error {
		if err := c.SendMail(m.opts.From, []string{to}, bytes.NewReader(data)); err != nil {
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
