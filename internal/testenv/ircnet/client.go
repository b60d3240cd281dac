package ircnet

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClientOptions configures a raw test client.
type ClientOptions struct {
	// TLS, when set, dials with TLS using this config (see Network.TLSConfig).
	TLS *tls.Config
	// Account and Password log in with SASL PLAIN during registration;
	// registration fails unless the server answers 903.
	Account, Password string
	// Caps are requested with CAP REQ (e.g. "account-tag", "extended-join",
	// "message-tags", "server-time", "echo-message"); a NAK fails the dial.
	Caps []string
	// Timeout bounds the whole registration; 0 means 10 s. InspIRCd finishes
	// registrations on a once-a-second tick, so allow at least 2 s.
	Timeout time.Duration
}

// Client is a line-level IRC client for tests: it does exactly what the test
// says and records every line it receives. It only answers PING by itself.
type Client struct {
	conn net.Conn
	nick string

	wmu sync.Mutex // serialises writes (test goroutine and PONGs)

	mu      sync.Mutex
	lines   []Line
	next    int           // first line that Expect has not looked at
	changed chan struct{} // closed and replaced whenever lines or readErr change
	readErr error
	done    chan struct{}

	closeOnce sync.Once
}

// Spec names one client for DialAll.
type Spec struct {
	Addr, Nick string
	Opts       ClientOptions
}

// Dial connects and registers a client, failing the test if registration
// (including CAP and SASL, when asked for) does not complete. The client is
// closed when the test ends.
func Dial(t testing.TB, addr, nick string, opts ClientOptions) *Client {
	t.Helper()
	return DialAll(t, Spec{addr, nick, opts})[0]
}

// DialAll connects several clients at once, like Dial. Registrations
// complete on the server's one-second tick, so this costs about 1 s instead
// of 1 s per client.
func DialAll(t testing.TB, specs ...Spec) []*Client {
	t.Helper()
	clients := make([]*Client, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { clients[i], errs[i] = connect(s.Addr, s.Nick, s.Opts) })
	}
	wg.Wait()
	for _, c := range clients {
		if c != nil {
			t.Cleanup(c.Close)
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("ircnet: client %s on %s: %v", specs[i].Nick, specs[i].Addr, err)
		}
	}
	return clients
}

// connect does the work of Dial without a testing.TB, so the network's own
// readiness probe and account registration can use it.
func connect(addr, nick string, opts ClientOptions) (*Client, error) {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	deadline := time.Now().Add(timeout)
	d := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	var err error
	if opts.TLS != nil {
		conn, err = tls.DialWithDialer(d, "tcp", addr, opts.TLS)
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, nick: nick, changed: make(chan struct{}), done: make(chan struct{})}
	go c.readLoop()
	if err := c.register(opts, deadline); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) register(opts ClientOptions, deadline time.Time) error {
	caps := append([]string(nil), opts.Caps...)
	if opts.Account != "" {
		caps = append(caps, "sasl")
	}
	// CAP LS before NICK/USER holds registration open until CAP END.
	if len(caps) > 0 {
		c.Send("CAP LS 302")
	}
	c.Send("NICK " + c.nick)
	c.Send("USER " + c.nick + " 0 * :ircnet test client " + c.nick)
	if len(caps) > 0 {
		// A multi-line LS reply marks every line but the last with "*".
		if _, err := c.wait(deadline, func(l Line) bool {
			return l.Command == "CAP" && l.Param(1) == "LS" && l.Param(2) != "*"
		}); err != nil {
			return fmt.Errorf("CAP LS: %w", err)
		}
		c.Send("CAP REQ :" + strings.Join(caps, " "))
		l, err := c.wait(deadline, func(l Line) bool {
			return l.Command == "CAP" && (l.Param(1) == "ACK" || l.Param(1) == "NAK")
		})
		if err != nil {
			return fmt.Errorf("CAP REQ: %w", err)
		}
		if l.Param(1) == "NAK" {
			return fmt.Errorf("server refused caps: %s", l.Raw)
		}
		if opts.Account != "" {
			if err := c.sasl(opts.Account, opts.Password, deadline); err != nil {
				return err
			}
		}
		c.Send("CAP END")
	}
	l, err := c.wait(deadline, func(l Line) bool {
		return l.Command == "001" || l.Command == "432" || l.Command == "433" || l.Command == "ERROR"
	})
	if err != nil {
		return fmt.Errorf("waiting for 001: %w", err)
	}
	if l.Command != "001" {
		return fmt.Errorf("registration refused: %s", l.Raw)
	}
	c.nick = l.Param(0)
	return nil
}

func (c *Client) sasl(account, password string, deadline time.Time) error {
	c.Send("AUTHENTICATE PLAIN")
	if _, err := c.wait(deadline, Cmd("AUTHENTICATE", "+")); err != nil {
		return fmt.Errorf("SASL: %w", err)
	}
	payload := account + "\x00" + account + "\x00" + password
	c.Send("AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte(payload)))
	l, err := c.wait(deadline, func(l Line) bool {
		switch l.Command {
		case "903", "902", "904", "905", "906", "908":
			return true
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("SASL: %w", err)
	}
	if l.Command != "903" {
		return fmt.Errorf("SASL failed for account %q: %s", account, l.Raw)
	}
	return nil
}

func (c *Client) readLoop() {
	r := bufio.NewReaderSize(c.conn, 64<<10)
	for {
		s, err := r.ReadString('\n')
		if s = strings.TrimRight(s, "\r\n"); s != "" {
			l := ParseLine(s)
			l.At = time.Now()
			if l.Command == "PING" {
				c.Send("PONG :" + l.Param(0))
			}
			c.mu.Lock()
			c.lines = append(c.lines, l)
			c.notifyLocked()
			c.mu.Unlock()
		}
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.notifyLocked()
			c.mu.Unlock()
			close(c.done)
			return
		}
	}
}

func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// wait consumes lines until one matches, the deadline passes or the
// connection ends. Errors list the lines it looked at.
func (c *Client) wait(deadline time.Time, match func(Line) bool) (Line, error) {
	total := time.Until(deadline)
	timer := time.NewTimer(total)
	defer timer.Stop()
	c.mu.Lock()
	start := c.next
	c.mu.Unlock()
	for {
		c.mu.Lock()
		pending := c.lines[c.next:]
		base, readErr, changed := c.next, c.readErr, c.changed
		c.mu.Unlock()
		// match runs without the lock so it may call back into the client.
		for i, l := range pending {
			if match(l) {
				c.mu.Lock()
				c.next = base + i + 1
				c.mu.Unlock()
				return l, nil
			}
		}
		c.mu.Lock()
		c.next = base + len(pending)
		c.mu.Unlock()
		if readErr != nil {
			return Line{}, fmt.Errorf("connection closed (%v) before a matching line; lines seen:%s", readErr, c.since(start))
		}
		select {
		case <-changed:
		case <-timer.C:
			return Line{}, fmt.Errorf("no matching line within %v; lines seen:%s", total.Round(time.Millisecond), c.since(start))
		}
	}
}

// since formats the last lines received from index start on, for errors.
func (c *Client) since(start int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := c.lines[start:]
	var b strings.Builder
	if len(seen) > 60 {
		fmt.Fprintf(&b, "\n\t(%d earlier lines left out)", len(seen)-60)
		seen = seen[len(seen)-60:]
	}
	for _, l := range seen {
		b.WriteString("\n\t<< " + l.Raw)
	}
	if len(seen) == 0 {
		b.WriteString(" none")
	}
	return b.String()
}

// Expect reads on until a line matches (lines before it are consumed) and
// returns it. It fails the test on timeout or when the connection closes,
// showing the lines that did arrive. Call it from one goroutine at a time
// per client: the lines it consumes are shared.
func (c *Client) Expect(t testing.TB, timeout time.Duration, match func(Line) bool) Line {
	t.Helper()
	l, err := c.wait(time.Now().Add(timeout), match)
	if err != nil {
		t.Fatalf("ircnet: %s: %v", c.nick, err)
	}
	return l
}

// Seen returns the first line received so far or within timeout that
// matches, without consuming anything: unlike Expect, waits for several
// things in whatever order the server sends them do not skip each other's
// lines. It fails the test like Expect. Any goroutine may call it.
func (c *Client) Seen(t testing.TB, timeout time.Duration, match func(Line) bool) Line {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	checked := 0
	for {
		c.mu.Lock()
		lines, readErr, changed := c.lines[checked:], c.readErr, c.changed
		c.mu.Unlock()
		for _, l := range lines {
			if match(l) {
				return l
			}
		}
		checked += len(lines)
		if readErr != nil {
			t.Fatalf("ircnet: %s: connection closed (%v) before a matching line; lines seen:%s", c.nick, readErr, c.since(0))
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("ircnet: %s: no matching line within %v; lines seen:%s", c.nick, timeout, c.since(0))
		}
	}
}

// Lines returns every line received so far, including those Expect consumed,
// so a test can check that something never arrived.
func (c *Client) Lines() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// Nick returns the nick the server confirmed in 001.
func (c *Client) Nick() string { return c.nick }

// Done is closed when the connection has ended (server close or Close).
func (c *Client) Done() <-chan struct{} { return c.done }

// Send writes one raw line plus CRLF. line may itself hold several
// CRLF-separated lines; they go out in a single write, which flood tests
// rely on. Errors are returned but may be ignored: a test notices a dead
// connection when its next Expect fails.
func (c *Client) Send(line string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(c.conn, line+"\r\n")
	return err
}

// Join sends JOIN, with the key when it is not empty.
func (c *Client) Join(channel, key string) error {
	if key != "" {
		return c.Send("JOIN " + channel + " " + key)
	}
	return c.Send("JOIN " + channel)
}

// Privmsg sends PRIVMSG target :text.
func (c *Client) Privmsg(target, text string) error {
	return c.Send("PRIVMSG " + target + " :" + text)
}

// Mode sends MODE target followed by the modes and their arguments.
func (c *Client) Mode(target string, modes ...string) error {
	return c.Send(strings.TrimSpace("MODE " + target + " " + strings.Join(modes, " ")))
}

// Oper becomes IRC operator with the configured credentials and waits for
// 381. Opers are exempt from fake lag.
func (c *Client) Oper(t testing.TB) {
	t.Helper()
	c.Send("OPER " + OperName + " " + OperPassword)
	l := c.Expect(t, 5*time.Second, func(l Line) bool { return l.Command == "381" || l.Command == "491" })
	if l.Command != "381" {
		t.Fatalf("ircnet: %s: OPER refused: %s", c.nick, l.Raw)
	}
}

// Close sends QUIT, closes the connection and waits for the reader to stop.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		c.wmu.Lock()
		c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(c.conn, "QUIT :ircnet test client closed\r\n")
		c.wmu.Unlock()
		c.conn.Close()
		<-c.done
	})
}
