package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/sectriage/sectriage/bot"
)

// IMAPOptions say which mailbox to watch and how.
type IMAPOptions struct {
	Address           string // host:port
	TLS               string // "implicit", "starttls" or "none"
	RootCAs           *x509.CertPool
	Username          string
	Password          string
	Mailbox           string
	DoneMailbox       string
	QuarantineMailbox string
	// PollInterval is how often the mailbox is searched when the server
	// has no IDLE, and the safety net while idling.
	PollInterval time.Duration
	// MaxMessageBytes: larger messages are not fetched, only their header,
	// and are quarantined as too large.
	MaxMessageBytes int64
	// Reconnect backoff: MinBackoff doubling up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

// IMAP fetches reports from a mailbox: every message is handed to the
// pipeline and moved out of the mailbox only once its incident or
// quarantine entry is committed, so a crash or a database error leaves it
// where it was, to be fetched again.
type IMAP struct {
	opts IMAPOptions
	recv Receiver
	log  *slog.Logger
	// watching is set while a session is logged in with the mailbox
	// selected, for health checks.
	watching atomic.Bool
	// ready is closed at the first such session: the daemon waits on it
	// to say every part is up.
	ready     chan struct{}
	readyOnce sync.Once
}

// NewIMAP makes the source.
func NewIMAP(opts IMAPOptions, recv Receiver, log *slog.Logger) *IMAP {
	if opts.Mailbox == "" {
		opts.Mailbox = "INBOX"
	}
	if opts.DoneMailbox == "" {
		opts.DoneMailbox = "Processed"
	}
	if opts.QuarantineMailbox == "" {
		opts.QuarantineMailbox = opts.DoneMailbox
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Minute
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultLimits().MaxMessageBytes
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	return &IMAP{opts: opts, recv: recv, log: log.With("adapter", "imap"), ready: make(chan struct{})}
}

// Watching reports whether a session is logged in with the mailbox
// selected: reports that arrive now are fetched.
func (s *IMAP) Watching() bool { return s.watching.Load() }

// Ready is closed once the first session is watching the mailbox.
func (s *IMAP) Ready() <-chan struct{} { return s.ready }

// Run watches the mailbox until ctx ends, reconnecting with backoff.
func (s *IMAP) Run(ctx context.Context) error {
	backoff := s.opts.MinBackoff
	for {
		loggedIn, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if loggedIn {
			backoff = s.opts.MinBackoff // it worked until now: a fresh failure
		}
		s.log.Warn("IMAP session ended; reconnecting", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, s.opts.MaxBackoff)
	}
}

// session is one connection: log in, handle what is there, wait for news
// (IDLE, or polling), repeat. It returns when the connection fails or ctx
// ends.
func (s *IMAP) session(ctx context.Context) (loggedIn bool, err error) {
	news := make(chan struct{}, 1)
	notify := func() {
		select {
		case news <- struct{}{}:
		default:
		}
	}
	c, err := s.dial(&imapclient.Options{
		Dialer: &net.Dialer{Timeout: 30 * time.Second},
		// Runs on the client's reader goroutine: hand over, never block.
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					notify()
				}
			},
		},
	})
	if err != nil {
		return false, fmt.Errorf("connecting to %s: %w", s.opts.Address, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if err := c.Login(s.opts.Username, s.opts.Password).Wait(); err != nil {
		return false, fmt.Errorf("logging in as %s: %w", s.opts.Username, err)
	}
	for _, mb := range []string{s.opts.DoneMailbox, s.opts.QuarantineMailbox} {
		if err := createMailbox(c, mb); err != nil {
			return true, err
		}
	}
	if _, err := c.Select(s.opts.Mailbox, nil).Wait(); err != nil {
		return true, fmt.Errorf("selecting %s: %w", s.opts.Mailbox, err)
	}
	s.log.Info("watching mailbox", "mailbox", s.opts.Mailbox, "idle", c.Caps().Has(imap.CapIdle))
	s.watching.Store(true)
	s.readyOnce.Do(func() { close(s.ready) })
	defer s.watching.Store(false)
	for {
		if err := s.drain(ctx, c); err != nil {
			return true, err
		}
		if err := s.wait(ctx, c, news); err != nil {
			return true, err
		}
		if ctx.Err() != nil {
			_ = c.Logout().Wait()
			return true, nil
		}
	}
}

func (s *IMAP) dial(opts *imapclient.Options) (*imapclient.Client, error) {
	host, _, err := net.SplitHostPort(s.opts.Address)
	if err != nil {
		return nil, err
	}
	opts.TLSConfig = &tls.Config{ServerName: host, RootCAs: s.opts.RootCAs, MinVersion: tls.VersionTLS12}
	switch s.opts.TLS {
	case "none":
		return imapclient.DialInsecure(s.opts.Address, opts)
	case "starttls":
		return imapclient.DialStartTLS(s.opts.Address, opts)
	default:
		return imapclient.DialTLS(s.opts.Address, opts)
	}
}

func createMailbox(c *imapclient.Client, name string) error {
	err := c.Create(name, nil).Wait()
	var imapErr *imap.Error
	if err == nil || (errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeAlreadyExists) {
		return nil
	}
	return fmt.Errorf("creating mailbox %s: %w", name, err)
}

// wait idles until the server reports new mail, the poll interval passes,
// the connection drops or ctx ends.
func (s *IMAP) wait(ctx context.Context, c *imapclient.Client, news <-chan struct{}) error {
	timer := time.NewTimer(s.opts.PollInterval)
	defer timer.Stop()
	if !c.Caps().Has(imap.CapIdle) && !c.Caps().Has(imap.CapIMAP4rev2) {
		select {
		case <-ctx.Done():
		case <-c.Closed():
			return errors.New("connection closed")
		case <-timer.C:
		}
		return nil
	}
	idle, err := c.Idle()
	if err != nil {
		return fmt.Errorf("IDLE: %w", err)
	}
	closed := false
	select {
	case <-ctx.Done():
	case <-news:
	case <-timer.C:
	case <-c.Closed():
		closed = true
	}
	if closed {
		return errors.New("connection closed")
	}
	if err := idle.Close(); err != nil {
		return fmt.Errorf("ending IDLE: %w", err)
	}
	if err := idle.Wait(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("IDLE: %w", err)
	}
	return nil
}

// drain handles every message in the mailbox, oldest first.
func (s *IMAP) drain(ctx context.Context, c *imapclient.Client) error {
	data, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("searching %s: %w", s.opts.Mailbox, err)
	}
	for _, uid := range data.AllUIDs() {
		if ctx.Err() != nil {
			return nil
		}
		if err := s.handle(ctx, c, uid); err != nil {
			return err
		}
	}
	return nil
}

// handle fetches one message, runs it through the pipeline and, once the
// outcome is committed, moves it out of the mailbox.
func (s *IMAP) handle(ctx context.Context, c *imapclient.Client, uid imap.UID) error {
	set := imap.UIDSetNum(uid)
	sizes, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return fmt.Errorf("fetching the size of UID %d: %w", uid, err)
	}
	if len(sizes) == 0 {
		return nil // moved or deleted by someone else meanwhile
	}
	size := sizes[0].RFC822Size
	sub := bot.Submission{Source: bot.SourceIMAP}
	section := &imap.FetchItemBodySection{Peek: true}
	if size > s.opts.MaxMessageBytes {
		// Fetch only the header: enough to name the sender, and nothing a
		// message can make us hold in memory.
		section.Specifier = imap.PartSpecifierHeader
		sub.Oversized, sub.Size = true, size
	}
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return fmt.Errorf("fetching UID %d: %w", uid, err)
	}
	if len(bufs) == 0 {
		return nil
	}
	sub.Raw = bufs[0].FindBodySection(section)
	res, err := s.recv.Receive(ctx, sub)
	if err != nil {
		// Not committed: the message stays, and is offered again.
		return fmt.Errorf("UID %d could not be stored: %w", uid, err)
	}
	target, flags := s.opts.DoneMailbox, []imap.Flag{imap.FlagSeen}
	if res.QuarantineID != 0 {
		target, flags = s.opts.QuarantineMailbox, append(flags, imap.FlagFlagged)
	}
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close(); err != nil {
		return fmt.Errorf("flagging UID %d: %w", uid, err)
	}
	if _, err := c.Move(set, target).Wait(); err != nil {
		return fmt.Errorf("moving UID %d to %s: %w", uid, target, err)
	}
	s.log.Info("message handled", "uid", uint32(uid), "report", res.ReportID, "incident", res.IncidentID,
		"quarantine", res.QuarantineID, "duplicate", res.Duplicate, "moved_to", target)
	return nil
}

// Check logs in and selects the mailbox, for `sectriage check`.
func (s *IMAP) Check(ctx context.Context) error {
	c, err := s.dial(&imapclient.Options{Dialer: &net.Dialer{Timeout: 10 * time.Second}})
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", s.opts.Address, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(s.opts.Username, s.opts.Password).Wait(); err != nil {
		return fmt.Errorf("logging in as %s: %w", s.opts.Username, err)
	}
	if _, err := c.Select(s.opts.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return fmt.Errorf("selecting %s: %w", s.opts.Mailbox, err)
	}
	return c.Logout().Wait()
}
