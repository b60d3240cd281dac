package dovecot_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sectriage/sectriage/internal/testenv/dovecot"
)

func testMail(subject string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf(`From: Reporter <reporter@example.net>
To: security@example.org
Subject: %s
Date: Sun, 22 Nov 2026 10:00:00 +0000
Message-ID: <%d@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

hello
`, subject, time.Now().UnixNano()), "\n", "\r\n"))
}

func TestDeliverAndAppendAppear(t *testing.T) {
	t.Parallel()
	srv := dovecot.Start(t, dovecot.Options{Mailboxes: []string{"Processed"}})
	delivered, appended := testMail("delivered"), testMail("appended")
	srv.Deliver(t, delivered)
	uid := srv.Append(t, "INBOX", appended, imap.FlagSeen)
	if uid == 0 {
		t.Fatal("APPEND returned no UID (UIDPLUS)")
	}

	msgs := srv.Messages(t, "INBOX")
	if len(msgs) != 2 {
		t.Fatalf("INBOX has %d messages, want 2", len(msgs))
	}
	byRaw := map[string]dovecot.MessageInfo{}
	for _, m := range msgs {
		byRaw[string(m.Raw)] = m
	}
	if m, ok := byRaw[string(delivered)]; !ok || m.HasFlag(imap.FlagSeen) {
		t.Errorf("delivered message missing or \\Seen: %+v", m)
	}
	if m, ok := byRaw[string(appended)]; !ok || !m.HasFlag(imap.FlagSeen) || m.UID != uid {
		t.Errorf("appended message missing, not \\Seen or wrong UID (want %d): %+v", uid, m)
	}
	// Messages must not mark anything read: it is how tests inspect the bot.
	if again := srv.Messages(t, "INBOX"); !slicesEqualFlags(msgs, again) {
		t.Errorf("Messages changed flags: %+v then %+v", msgs, again)
	}

	// The bot moves handled mail; the created mailbox works for that.
	c := srv.Client(t, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(uid), "Processed").Wait(); err != nil {
		t.Fatalf("MOVE: %v", err)
	}
	if got := srv.Messages(t, "Processed"); len(got) != 1 || !bytes.Equal(got[0].Raw, appended) {
		t.Fatalf("Processed holds %d messages, want the appended one", len(got))
	}
	// What a bot test does after the bot acted: wait for the flag.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond) // the "bot" acts a little later
		_, _ = c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
	}()
	srv.WaitMessages(t, "INBOX", 5*time.Second, func(ms []dovecot.MessageInfo) bool {
		return len(ms) == 1 && ms[0].HasFlag(imap.FlagFlagged)
	})
	srv.CreateMailbox(t, "Processed") // exists already: no failure
}

func slicesEqualFlags(a, b []dovecot.MessageInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if fmt.Sprint(a[i].Flags) != fmt.Sprint(b[i].Flags) {
			return false
		}
	}
	return true
}

func TestIdleSeesNewMail(t *testing.T) {
	t.Parallel()
	srv := dovecot.Start(t, dovecot.Options{})
	exists := make(chan uint32, 16)
	c := srv.Client(t, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		// Runs on the reader goroutine: only hand the count over.
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
		Fetch: func(m *imapclient.FetchMessageData) { _, _ = m.Collect() },
	}})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	waitExists := func(want uint32) {
		t.Helper()
		start := time.Now()
		timeout := time.After(5 * time.Second) // Dovecot notifies ~0.5 s after the change
		for {
			select {
			case n := <-exists:
				if n >= want {
					t.Logf("EXISTS %d after %v", n, time.Since(start).Round(time.Millisecond))
					return
				}
			case <-timeout:
				t.Fatalf("no EXISTS %d within 5 s", want)
			}
		}
	}
	srv.Deliver(t, testMail("maildir drop"))
	waitExists(1)
	srv.Append(t, "INBOX", testMail("append"))
	waitExists(2)
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := dovecot.Start(t, dovecot.Options{TLS: true, Username: "bot", Password: "s3cret"})
	if srv.TLSAddr == "" || srv.CertFile == "" {
		t.Fatalf("TLS server without TLSAddr/CertFile: %+v", srv)
	}
	login := func(name string, c *imapclient.Client, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer c.Close()
		if err := c.Login("bot", "s3cret").Wait(); err != nil {
			t.Fatalf("%s LOGIN: %v", name, err)
		}
	}
	opts := &imapclient.Options{TLSConfig: srv.ClientTLSConfig()}
	c, err := imapclient.DialTLS(srv.TLSAddr, opts)
	login("implicit TLS", c, err)
	c, err = imapclient.DialStartTLS(srv.Addr, opts)
	login("STARTTLS", c, err)
	// The same through "localhost", as a bot configured with a host name dials.
	_, port, _ := net.SplitHostPort(srv.TLSAddr)
	c, err = imapclient.DialTLS("localhost:"+port, opts)
	login("implicit TLS via localhost", c, err)

	// Without the test CA the certificate must be rejected.
	_, err = imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: &tls.Config{}})
	if err == nil {
		t.Fatal("self-signed certificate accepted without RootCAs")
	}
}

func TestRestartKeepsMailAndPort(t *testing.T) {
	t.Parallel()
	srv := dovecot.Start(t, dovecot.Options{})
	addr := srv.Addr
	srv.Deliver(t, testMail("before restart"))
	if n := len(srv.Messages(t, "INBOX")); n != 1 {
		t.Fatalf("%d messages before restart, want 1", n)
	}
	c := srv.Client(t, nil)

	start := time.Now()
	srv.Stop()
	t.Logf("stop took %v", time.Since(start).Round(time.Millisecond))
	select { // a connected client notices the server going away
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("client connection still open after Stop")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("port still accepts connections after Stop")
	}
	srv.Deliver(t, testMail("while down")) // mail keeps arriving

	start = time.Now()
	srv.Restart(t)
	t.Logf("restart took %v", time.Since(start).Round(time.Millisecond))
	if srv.Addr != addr {
		t.Fatalf("address changed across restart: %s -> %s", addr, srv.Addr)
	}
	if n := len(srv.Messages(t, "INBOX")); n != 2 {
		t.Fatalf("%d messages after restart, want 2", n)
	}
}

// TestWrongPasswordFails: a wrong password is refused. (The harness sets
// auth_failure_delay = 0 so such tests are quick, but timing is not
// asserted: on a loaded CI machine that would make the test flaky.)
func TestWrongPasswordFails(t *testing.T) {
	t.Parallel()
	srv := dovecot.Start(t, dovecot.Options{})
	c, err := imapclient.DialInsecure(srv.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(srv.Username, "wrong").Wait(); err == nil {
		t.Fatal("LOGIN with a wrong password succeeded")
	}
}
