package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lrstanley/girc"
)

// session is one connection: girc's client, the wire under it, the state
// tracked from the server's lines and the goroutines that send lines, run
// control actions and run commands. A new connection gets a new session,
// so nothing from an old connection (nicks, accounts, modes) survives it.
type session struct {
	a      *Adapter
	client *girc.Client
	wire   atomic.Pointer[wire]
	// reached is set once the server accepted the TCP connection: a
	// session that ends without it is an outage.
	reached atomic.Bool
	lim     *limiter

	mu         sync.Mutex
	tr         *tracker
	registered bool
	loggedIn   bool // 900 RPL_LOGGEDIN
	echo       bool // echo-message is on
	accountTag bool // account-tag is on
	waiters    map[*waiter]struct{}
	fixedAt    map[string]time.Time // folded channel -> when we sent MODE to make it private
	fixTries   map[string]int
	resumed    bool
	releasing  bool              // a release of held messages is scheduled (privacy.go)
	joinErr    string            // the channel's last refusal, "" once joined
	refused    map[string]string // folded incident channel -> its last refusal
	invited    map[string]bool   // "channel account" given access and invited
	closeErr   error             // why we ended the connection ourselves

	high, low chan *outLine              // lines to send; high goes first
	control   chan func(context.Context) // actions that send, run in order
	commands  chan commandRequest
	said      chan saidLine // incident-channel messages for the record
	done      chan struct{} // closed when the connection is over
}

func newSession(a *Adapter) *session {
	return &session{
		a:        a,
		lim:      newLimiter(a.opts.Burst, a.opts.PerLine, a.now),
		tr:       newTracker(a.opts.Nick),
		waiters:  map[*waiter]struct{}{},
		fixedAt:  map[string]time.Time{},
		fixTries: map[string]int{},
		refused:  map[string]string{},
		invited:  map[string]bool{},
		high:     make(chan *outLine),
		low:      make(chan *outLine),
		control:  make(chan func(context.Context), 64),
		commands: make(chan commandRequest, 16),
		said:     make(chan saidLine, 1024),
		done:     make(chan struct{}),
	}
}

func (s *session) isRegistered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registered
}

// outLine is a line waiting for its turn and a token.
type outLine struct {
	text string
	// guard, when set, is checked just before the line is written; an
	// error stops it (a channel that turned public, a nick that changed
	// hands).
	guard     func() error
	done      chan error
	abandoned atomic.Bool
}

// priorities for send.
const (
	prioHigh = true  // command replies and channel upkeep
	prioLow  = false // outbox deliveries, which may be long
)

// send queues a line and waits until it is written.
func (s *session) send(ctx context.Context, high bool, text string, guard func() error) error {
	l := &outLine{text: text, guard: guard, done: make(chan error, 1)}
	q := s.low
	if high {
		q = s.high
	}
	select {
	case q <- l:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errNotConnected
	}
	select {
	case err := <-l.done:
		return err
	case <-ctx.Done():
		l.abandoned.Store(true)
		return ctx.Err()
	case <-s.done:
		l.abandoned.Store(true)
		return errNotConnected
	}
}

// sendLoop writes queued lines, replies before deliveries, at the pace the
// token bucket allows.
func (s *session) sendLoop(ctx context.Context) {
	for {
		var l *outLine
		select {
		case l = <-s.high:
		default:
			select {
			case l = <-s.high:
			case l = <-s.low:
			case <-ctx.Done():
				return
			}
		}
		err := s.pace(ctx)
		if err == nil && l.abandoned.Load() {
			err = context.Canceled
		}
		if err == nil && l.guard != nil {
			err = l.guard()
		}
		if err == nil {
			if w := s.wire.Load(); w != nil {
				err = w.writeLine(l.text)
			} else {
				err = errNotConnected
			}
		}
		l.done <- err
	}
}

// pace waits for a token.
func (s *session) pace(ctx context.Context) error {
	for {
		d := s.lim.take()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// do queues a control action: something that sends lines in reaction to an
// event. girc's event loop must not block, so handlers only queue.
func (s *session) do(f func(ctx context.Context)) {
	select {
	case s.control <- f:
	default:
		s.a.log.Error("IRC control queue full; dropping an action")
	}
}

func (s *session) controlLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-s.control:
			s.safely("control action", func() { f(ctx) })
		}
	}
}

// safely runs f and turns a panic into a log line: a bug in one action
// must not take the daemon down with it.
func (s *session) safely(what string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			s.a.log.Error("IRC "+what+" panicked", "panic", fmt.Sprint(p))
		}
	}()
	f()
}

// after queues f once d has passed, unless the connection has ended.
func (s *session) after(d time.Duration, f func(ctx context.Context)) {
	time.AfterFunc(d, func() {
		select {
		case <-s.done:
		default:
			s.do(f)
		}
	})
}

// quit says goodbye directly on the wire: the sender may be stopping.
func (s *session) quit() {
	if w := s.wire.Load(); w != nil {
		w.writeLine("QUIT :sectriage is shutting down")
	}
}

// waiter is someone waiting for a reply from the server: an echo, a PONG,
// a WHOX answer. match runs on every event under the session's lock.
type waiter struct {
	match func(e *girc.Event) (done bool, err error)
	ch    chan error
}

func (s *session) expect(match func(e *girc.Event) (bool, error)) *waiter {
	w := &waiter{match: match, ch: make(chan error, 1)}
	s.mu.Lock()
	s.waiters[w] = struct{}{}
	s.mu.Unlock()
	return w
}

func (s *session) wait(ctx context.Context, w *waiter, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer func() {
		t.Stop()
		s.mu.Lock()
		delete(s.waiters, w)
		s.mu.Unlock()
	}()
	select {
	case err := <-w.ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errNotConnected
	case <-t.C:
		return errors.New("no answer from the IRC server in time")
	}
}

// runWaiters is called with s.mu held.
func (s *session) runWaiters(e *girc.Event) {
	for w := range s.waiters {
		if done, err := w.match(e); done {
			w.ch <- err
			delete(s.waiters, w)
		}
	}
}

// sameTarget compares nicks or channels the way the server does.
func (s *session) sameTarget(a, b string) bool {
	return s.tr.is.fold(a) == s.tr.is.fold(b)
}

// targetErrors are the replies that say a PRIVMSG or NOTICE to a target
// was refused (no such nick or channel, cannot send, +R, +g, ...).
var targetErrors = map[string]bool{
	"401": true, "403": true, "404": true, "406": true, "407": true, "411": true, "412": true,
	"413": true, "414": true, "477": true, "486": true, "489": true, "492": true, "531": true,
	"716": true, "717": true,
}

// ponged makes a waiter for the PONG to token, which says the server has
// handled every line we sent before the PING, or for a refusal of a line
// to target.
func (s *session) ponged(target, token string) *waiter {
	return s.expect(func(e *girc.Event) (bool, error) {
		switch {
		case e.Command == girc.PONG && e.Last() == token:
			return true, nil
		case targetErrors[e.Command] && len(e.Params) > 1 && s.sameTarget(e.Params[1], target):
			return true, errors.New("the server refused the message to " + target + ": " + e.Command + " " + strings.TrimSpace(e.Last()))
		}
		return false, nil
	})
}
