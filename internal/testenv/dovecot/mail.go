package dovecot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// MessageInfo is one message as the server holds it.
type MessageInfo struct {
	UID   imap.UID
	Flags []imap.Flag
	Raw   []byte // the whole message, CRLF line endings
}

// HasFlag reports whether the message carries f (e.g. imap.FlagSeen).
func (m MessageInfo) HasFlag(f imap.Flag) bool { return slices.Contains(m.Flags, f) }

var deliverSeq atomic.Uint64

// Deliver drops raw into the INBOX Maildir the way an MDA does: written to
// tmp/, then renamed into new/, owned by the mail user and mode 0600 (a file
// the mail user cannot read makes Dovecot end the session with BYE). It
// works while the server is stopped too. Dovecot assigns the UID when it
// next syncs the mailbox (SELECT, NOOP, or IDLE about 0.5 s later).
func (s *Server) Deliver(t testing.TB, raw []byte) {
	t.Helper()
	now := time.Now()
	name := fmt.Sprintf("%d.M%dP%dQ%d.sectriage-test", now.Unix(), now.Nanosecond()/1000,
		os.Getpid(), deliverSeq.Add(1))
	tmp := filepath.Join(s.maildir, "tmp", name)
	must(t, os.WriteFile(tmp, raw, 0o600))
	must(t, os.Chown(tmp, s.uid, s.gid))
	must(t, os.Rename(tmp, filepath.Join(s.maildir, "new", name)))
}

// Append stores raw in mailbox with IMAP APPEND over a separate connection,
// as another client or a server-side filter would, and returns its UID.
func (s *Server) Append(t testing.TB, mailbox string, raw []byte, flags ...imap.Flag) imap.UID {
	t.Helper()
	c := s.dial(t)
	defer closeClient(c)
	cmd := c.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write(raw); err != nil {
		t.Fatalf("APPEND to %q: %v", mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("APPEND to %q: %v", mailbox, err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND to %q: %v", mailbox, err)
	}
	return data.UID
}

// CreateMailbox creates mailbox; one that exists already is fine.
func (s *Server) CreateMailbox(t testing.TB, mailbox string) {
	t.Helper()
	c := s.dial(t)
	defer closeClient(c)
	err := c.Create(mailbox, nil).Wait()
	var imapErr *imap.Error
	if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeAlreadyExists {
		return
	}
	if err != nil {
		t.Fatalf("CREATE %q: %v", mailbox, err)
	}
}

// Messages returns every message in mailbox, by UID, with its flags and
// raw bytes. It opens the mailbox read-only and fetches with BODY.PEEK, so
// it changes nothing the bot could observe (not even \Seen or \Recent).
func (s *Server) Messages(t testing.TB, mailbox string) []MessageInfo {
	t.Helper()
	c := s.dial(t)
	defer closeClient(c)
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("EXAMINE %q: %v", mailbox, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		t.Fatalf("FETCH %q: %v", mailbox, err)
	}
	out := make([]MessageInfo, 0, len(bufs))
	for _, b := range bufs {
		out = append(out, MessageInfo{UID: b.UID, Flags: b.Flags, Raw: b.FindBodySection(section)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out
}

// WaitMessages returns mailbox's messages once cond accepts them, checking
// every 50 ms, and fails the test after timeout. The bot acts on its own
// schedule and the server has no way to announce a flag change to a test,
// so this polls.
func (s *Server) WaitMessages(t testing.TB, mailbox string, timeout time.Duration, cond func([]MessageInfo) bool) []MessageInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages(t, mailbox)
		if cond(msgs) {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: condition not met within %v; last state: %s", mailbox, timeout, describe(msgs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func describe(msgs []MessageInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages", len(msgs))
	for _, m := range msgs {
		fmt.Fprintf(&b, "; UID %d flags %v", m.UID, m.Flags)
	}
	return b.String()
}

// Client returns a logged-in client on the plain port (no mailbox
// selected), closed when the test ends. opts may be nil; pass one with an
// UnilateralDataHandler to watch IDLE.
func (s *Server) Client(t testing.TB, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	t.Cleanup(func() { closeClient(c) })
	if err := c.Login(s.Username, s.Password).Wait(); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	return c
}

// dial is Client without a t.Cleanup, for the helpers that close at once.
func (s *Server) dial(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		t.Fatalf("dial %s (is the server stopped?): %v", s.Addr, err)
	}
	if err := c.Login(s.Username, s.Password).Wait(); err != nil {
		c.Close()
		t.Fatalf("LOGIN: %v", err)
	}
	return c
}

func closeClient(c *imapclient.Client) {
	_ = c.Logout().Wait()
	_ = c.Close()
}
