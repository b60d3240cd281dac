package irc

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lrstanley/girc"
)

// errNotConnected is returned by Deliver between connections; the outbox
// retries later and keeps the order.
var errNotConnected = errors.New("not connected to the IRC server")

// Run keeps the bot connected until ctx ends: girc does not reconnect by
// itself, so every lost connection is followed by a new one. While the
// server does not answer at all (restarting, unreachable), its port is
// probed every probeEvery and the bot connects as soon as it accepts, so
// an outage costs at most a probe interval more than it lasts. A server
// that answers but ends the session (refused login, services not linked
// yet, a K-line) is tried again after a delay that doubles up to
// ReconnectMax, with jitter so that a network is not hit by all its bots
// at once. On the way out it says QUIT.
func (a *Adapter) Run(ctx context.Context) error {
	backoff := a.opts.ReconnectMin
	for {
		start := a.now()
		registered, reached, err := a.runSession(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if registered && a.now().Sub(start) > stableAfter {
			backoff = a.opts.ReconnectMin // it was a good connection for a while
		}
		if !reached {
			a.log.Warn("IRC server not answering; waiting for it", "err", err)
			if !a.awaitServer(ctx) {
				return nil
			}
			a.log.Info("IRC server answers again; reconnecting")
			backoff = a.opts.ReconnectMin
			continue
		}
		wait := jitter(backoff)
		a.log.Warn("IRC connection ended; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, a.opts.ReconnectMax)
	}
}

// stableAfter is how long a registered connection must have lasted for
// the next attempt to start again from ReconnectMin: a server that kills
// the bot soon after each login is not hammered, and one that merely
// restarted is not waited out.
const stableAfter = time.Minute

// probeEvery is how often the port of a server that does not answer is
// tried: a TCP handshake, closed at once.
const probeEvery = time.Second

// awaitServer returns true once the server accepts a TCP connection, or
// false when ctx ends.
func (a *Adapter) awaitServer(ctx context.Context) bool {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, probeEvery)
		c, err := (&net.Dialer{}).DialContext(pctx, "tcp", a.opts.Server)
		cancel()
		if err == nil {
			c.Close()
			return true
		}
	}
}

// jitter spreads d over [d/2, 3d/2).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d+1)
}

// runSession makes one connection and returns when it ends, saying whether
// it got as far as registering, and whether the server answered at all.
func (a *Adapter) runSession(ctx context.Context) (registered, reached bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := newSession(a)
	client := girc.New(a.girConfig())
	s.client = client
	client.Handlers.Add(girc.ALL_EVENTS, s.onEvent)
	// girc answers CTCP queries, unknown ones included, outside any rate
	// limit; the wire drops those replies, and without handlers girc has
	// nothing to say but ERRMSG.
	client.CTCP.Clear(girc.CTCP_VERSION)
	for _, c := range []string{girc.CTCP_PING, girc.CTCP_PONG, girc.CTCP_SOURCE, girc.CTCP_TIME, girc.CTCP_FINGER} {
		client.CTCP.Clear(c)
	}

	a.setSession(s, nil)
	var wg sync.WaitGroup
	wg.Go(func() { s.sendLoop(sctx) })
	wg.Go(func() { s.controlLoop(sctx) })
	wg.Go(func() { s.commandLoop(sctx) })
	wg.Go(func() { s.recordLoop(sctx) })
	defer func() {
		close(s.done)
		cancel()
		wg.Wait()
		a.setSession(nil, err)
	}()

	errc := make(chan error, 1)
	go func() {
		errc <- client.DialerConnect(dialerFunc(func(string, string) (net.Conn, error) {
			conn, tcp, err := a.dial(sctx, &s.reached)
			if err != nil {
				return nil, err
			}
			w := newWire(conn, tcp, s.lim, a.log)
			s.wire.Store(w)
			return w, nil
		}))
	}()
	select {
	case err = <-errc:
		s.mu.Lock()
		if s.closeErr != nil {
			err = s.closeErr
		}
		s.mu.Unlock()
		if err == nil {
			err = errors.New("connection closed")
		}
		return s.isRegistered(), s.reached.Load(), err
	case <-ctx.Done():
		s.quit()
		select {
		case <-errc:
		case <-time.After(3 * time.Second):
			client.Close()
			<-errc
		}
		return s.isRegistered(), s.reached.Load(), nil
	}
}

// dialerFunc lets a function be girc's Dialer, so the adapter dials (and
// does TLS) itself and can put its wire between girc and the socket.
type dialerFunc func(network, addr string) (net.Conn, error)

func (f dialerFunc) Dial(network, addr string) (net.Conn, error) { return f(network, addr) }

// dial connects, with TLS when configured, and returns the connection and
// the TCP socket under it. It sets reached once the server has accepted
// the TCP connection: a failure after that (TLS) is not an outage, and is
// retried with backoff rather than as soon as the port answers.
func (a *Adapter) dial(ctx context.Context, reached *atomic.Bool) (net.Conn, *net.TCPConn, error) {
	d := &net.Dialer{Timeout: 20 * time.Second, KeepAlive: time.Minute}
	c, err := d.DialContext(ctx, "tcp", a.opts.Server)
	if err != nil {
		return nil, nil, err
	}
	reached.Store(true)
	tcp, _ := c.(*net.TCPConn)
	if a.opts.TLS == nil {
		return c, tcp, nil
	}
	cfg := a.opts.TLS.Clone()
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(a.opts.Server)
		cfg.ServerName = host
	}
	hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(hctx); err != nil {
		c.Close()
		return nil, nil, err
	}
	return tc, tcp, nil
}

// girConfig is the girc configuration: flood control, auto WHO/MODE and
// STS are the adapter's business; echo-message must be asked for.
func (a *Adapter) girConfig() girc.Config {
	host, portStr, _ := net.SplitHostPort(a.opts.Server)
	port, _ := strconv.Atoi(portStr)
	cfg := girc.Config{
		Server: host, Port: port, ServerPass: a.opts.ServerPassword,
		Nick: a.opts.Nick, User: a.opts.User, Name: a.opts.RealName,
		AllowFlood:            true,
		DisableSTS:            true, // TLS is configured, not negotiated
		DisableAutoWHOOnJoin:  true,
		DisableAutoMODEOnJoin: true,
		SupportedCaps:         map[string][]string{"echo-message": nil},
		PingDelay:             90 * time.Second,
		Debug:                 io.Discard, // raw lines hold report content
		RecoverFunc: func(_ *girc.Client, e *girc.HandlerError) {
			a.log.Error("IRC event handler panicked", "panic", fmt.Sprint(e.Panic), "at", e.File+":"+strconv.Itoa(e.Line))
		},
	}
	switch a.opts.SASL.Mechanism {
	case SASLPlain:
		cfg.SASL = &girc.SASLPlain{User: a.opts.SASL.Account, Pass: a.opts.SASL.Password}
	case SASLExternal:
		cfg.SASL = &girc.SASLExternal{}
	}
	// girc passes the nick it thinks we have, which stays the configured
	// one until registration ends, so the attempts are counted here.
	var tries atomic.Int32
	cfg.HandleNickCollide = func(string) string {
		i := int(tries.Add(1)) - 1
		if i < len(a.opts.AltNicks) {
			return a.opts.AltNicks[i]
		}
		return a.opts.Nick + strings.Repeat("_", min(i-len(a.opts.AltNicks)+1, 9))
	}
	return cfg
}

// wire sits between girc and the socket. The adapter writes its own lines
// here directly, so it alone decides how each line looks and learns at
// once when a write fails (girc drops lines silently when disconnected).
// Lines girc writes are let through and charged to the rate limit, except
// CTCP replies: girc sends them to anyone who asks, unlimited, which would
// let an outsider make the bot flood itself off the network.
type wire struct {
	net.Conn
	tcp      *net.TCPConn // the socket under TLS, for quickACK
	mu       sync.Mutex
	lim      *limiter
	counting atomic.Bool // after registration the server counts our lines
	log      *slog.Logger
}

func newWire(c net.Conn, tcp *net.TCPConn, lim *limiter, log *slog.Logger) *wire {
	return &wire{Conn: c, tcp: tcp, lim: lim, log: log}
}

// Read is girc's path from the socket. After each read it asks the kernel
// to acknowledge at once: IRC servers (InspIRCd among them) do not turn off
// Nagle's algorithm, so a line for us waits until our previous one is
// acknowledged, and a delayed ACK made every command that followed a reply
// or an echo 40 ms late.
func (w *wire) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	if w.tcp != nil {
		quickACK(w.tcp)
	}
	return n, err
}

// Write is girc's path to the socket.
func (w *wire) Write(b []byte) (int, error) {
	var out []byte
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		if bytes.IndexByte(l, 0x01) >= 0 {
			continue // a CTCP reply
		}
		if w.counting.Load() {
			w.lim.charge()
		}
		out = append(out, l...)
	}
	if len(out) == 0 {
		return len(b), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.writeLocked(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// writeTimeout bounds one write to the socket: a server that stops
// reading must not hang a writer forever.
const writeTimeout = 30 * time.Second

// writeLocked writes b under a deadline of its own and clears it after.
// Every writer (our lines, girc's, its keep-alive PING) comes through
// here: a deadline is the connection's, not the write's, so one left set
// by an earlier line failed girc's PING after 30 s of silence and dropped
// an idle bot every 90 s. w.mu must be held.
func (w *wire) writeLocked(b []byte) error {
	if err := w.Conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err := w.Conn.Write(b)
	if cerr := w.Conn.SetWriteDeadline(time.Time{}); err == nil {
		err = cerr
	}
	return err
}

// writeLine sends one of the adapter's own lines. The caller has taken a
// token already. A line that could be misread by the server is refused:
// the sanitiser should have made that impossible.
func (w *wire) writeLine(s string) error {
	if len(s) > maxLine || bytes.ContainsAny([]byte(s), "\r\n\x00") {
		return fmt.Errorf("refusing to send a malformed line (%d bytes)", len(s))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked([]byte(s + "\r\n"))
}
