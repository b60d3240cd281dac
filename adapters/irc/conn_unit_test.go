package irc

import (
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"
)

// deadlineConn records the write deadline in force at each write, and the
// one left behind.
type deadlineConn struct {
	net.Conn
	deadline time.Time
	atWrite  []time.Time
	fail     bool
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.deadline = t; return nil }

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.atWrite = append(c.atWrite, c.deadline)
	if c.fail {
		return 0, errors.New("broken pipe")
	}
	return len(b), nil
}

// TestEveryWriteHasItsOwnDeadline enumerates the ways lines reach the
// socket (girc's writes, its keep-alive PING and PONG among them, the
// adapter's own lines, the QUIT on the way out, a failed write): each
// write runs under a deadline, and none is left behind for the next
// writer, which is what dropped an idle bot every 90 s.
func TestEveryWriteHasItsOwnDeadline(t *testing.T) {
	now := time.Now()
	writers := map[string]func(w *wire) error{
		"girc line": func(w *wire) error { _, err := w.Write([]byte("PRIVMSG #c :hi\r\n")); return err },
		"girc keep-alive PING": func(w *wire) error {
			_, err := w.Write([]byte("PING :1700000000\r\n"))
			return err
		},
		"girc PONG":  func(w *wire) error { _, err := w.Write([]byte("PONG :irc.example\r\n")); return err },
		"own line":   func(w *wire) error { return w.writeLine("PRIVMSG #c :hello") },
		"QUIT":       func(w *wire) error { return w.writeLine("QUIT :bye") },
		"two writes": func(w *wire) error { w.writeLine("NOTICE a :b"); _, err := w.Write([]byte("PING :x\r\n")); return err },
	}
	for name, write := range writers {
		for _, fail := range []bool{false, true} {
			c := &deadlineConn{fail: fail}
			w := newWire(c, nil, newLimiter(4, time.Second, time.Now), slog.New(slog.DiscardHandler))
			err := write(w)
			if fail != (err != nil) {
				t.Errorf("%s (failing=%v): err %v", name, fail, err)
			}
			if len(c.atWrite) == 0 {
				t.Fatalf("%s: nothing written", name)
			}
			for i, d := range c.atWrite {
				if d.Before(now.Add(writeTimeout-time.Second)) || d.After(time.Now().Add(writeTimeout)) {
					t.Errorf("%s: write %d ran under deadline %v, want about now+%v", name, i, d, writeTimeout)
				}
			}
			if !c.deadline.IsZero() {
				t.Errorf("%s (failing=%v): deadline %v left set after the write", name, fail, c.deadline)
			}
		}
	}
}
