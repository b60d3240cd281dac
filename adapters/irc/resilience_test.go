package irc_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestFakeLagNoDisconnect: on a network with fake lag (InspIRCd's stock
// flood limits: a burst of 10, then one command a second, disconnection
// when 2 KB wait unprocessed), a 20 KB report plus 50 queued nags all go
// out and the bot stays connected, because its token bucket keeps it under
// the server's rate.
func TestFakeLagNoDisconnect(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{FakeLag: true})
	n.RegisterAccounts(t, accounts...)
	securedChannel(t, n)
	cs := ircnet.DialAll(t,
		ircnet.Spec{Addr: n.Addr(), Nick: "watcher", Opts: sasl("watcher")},
		ircnet.Spec{Addr: n.Addr(), Nick: "bob", Opts: sasl("bob")})
	watcher, bob := cs[0], cs[1]
	for _, c := range cs {
		c.Join(channel, chanKey)
		c.Expect(t, wait, ircnet.Cmd("JOIN", channel))
	}
	// 1.1 s a line after a burst of 4 stays under the server's one a
	// second (the default, 2 s, leaves twice the margin but would make this
	// test take four minutes). Every body line is sent: none is cut.
	d := startDesk(t, n, deskOptions{tweak: func(o *irc.Options) {
		o.Burst, o.PerLine, o.MaxBodyLines = 4, 1100*time.Millisecond, 100
	}})
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })

	// 20 KB in paragraphs of about 450 bytes, one IRC line each.
	var body strings.Builder
	for i := 0; body.Len() < 20*1024; i++ {
		fmt.Fprintf(&body, "paragraph %02d %s\n", i, strings.Repeat("lorem ipsum dolor sit amet ", 16))
	}
	start := time.Now()
	inc := d.open(t, "Big report", body.String())
	var nags []bot.OutboxMessage
	for i := range 50 {
		var txt bot.Text
		txt.Mention("bob").Plain(fmt.Sprintf(" SEC-%d is overdue for triage (nag %02d)", inc.ID, i))
		nags = append(nags, bot.OutboxMessage{
			Dest: bot.Destination{Platform: bot.PlatformIRC, Person: "bob"}, Kind: bot.MessagePing,
			IncidentID: inc.ID, Text: txt, Created: time.Now(), NextAttempt: time.Now(),
		})
	}
	if err := d.db.Enqueue(context.Background(), nags); err != nil {
		t.Fatal(err)
	}
	d.outbox.Wake()
	// The post, bob's and alice's pings, and the nags.
	got := d.waitDelivered(t, 53, 4*time.Minute, func(dl delivery) bool { return dl.err == nil })
	t.Logf("%d messages (%d-byte report) delivered under fake lag in %v", len(got), body.Len(), time.Since(start).Round(time.Second))

	watcher.Send("PING :sync")
	watcher.Expect(t, wait, ircnet.Cmd("PONG"))
	posted := 0
	for _, l := range watcher.Lines() {
		if l.Nick() == botNick && (l.Command == "QUIT" || l.Command == "PART") {
			t.Errorf("the bot left: %s", l.Raw)
		}
		if fromBot("PRIVMSG", channel)(l) && strings.HasPrefix(l.Param(1), "| paragraph ") {
			posted++
		}
	}
	if want := strings.Count(body.String(), "\n"); posted != want {
		t.Errorf("%d body lines in the channel, want all %d", posted, want)
	}
	bob.Send("PING :sync")
	bob.Expect(t, wait, ircnet.Cmd("PONG"))
	nagged := 0
	for _, l := range bob.Lines() {
		if fromBot("PRIVMSG", "bob")(l) && strings.Contains(l.Param(1), "(nag ") {
			nagged++
		}
	}
	if nagged != 50 {
		t.Errorf("bob got %d nags by private message, want 50", nagged)
	}
	if c := strings.Count(d.log.String(), `msg="connected to IRC"`); c != 1 {
		t.Errorf("the bot connected %d times; it must never have been disconnected", c)
	}
	d.waitOutboxEmpty(t)
}

// gate holds deliveries while a test rearranges the network.
type gate struct {
	mu sync.Mutex
	ch chan struct{}
}

func newGate() *gate {
	g := &gate{ch: make(chan struct{})}
	close(g.ch)
	return g
}

func (g *gate) hold() {
	g.mu.Lock()
	g.ch = make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) release() {
	g.mu.Lock()
	close(g.ch)
	g.mu.Unlock()
}

func (g *gate) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ch
}

// TestRestartDeliversWhatWasQueued: the network goes away and comes back;
// the bot reconnects, rejoins (recreating the channel and, as its
// operator, making it private again) and delivers everything queued
// meanwhile.
func TestRestartDeliversWhatWasQueued(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	g := newGate()
	d := startDesk(t, n, deskOptions{gate: g, tweak: func(o *irc.Options) { o.ManageModes = true }})
	// Nobody is in #sec: the bot creates it, is its operator and sets the
	// modes itself.
	st := d.waitStatus(t, "made its new channel private", func(st irc.Status) bool { return st.Private })
	if st.Modes != "+knst" {
		t.Fatalf("modes %q, want +knst (s and k set by the bot)", st.Modes)
	}
	watcher := joinAs(t, n, "watcher", sasl("watcher"))
	d.open(t, "Before the restart", "")
	watcher.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "Before the restart")
	})
	d.waitDelivered(t, 3, wait, func(dl delivery) bool { return dl.err == nil }) // post and two pings

	g.hold()
	n.Stop()
	d.waitStatus(t, "noticed the network was gone", func(st irc.Status) bool { return !st.Connected })
	var queued []int64
	for i := range 3 {
		queued = append(queued, d.open(t, fmt.Sprintf("Queued during the outage %d", i), "").ID)
	}
	n.Relaunch(t)
	watcher = joinAs(t, n, "watcher", sasl("watcher"))
	// If the watcher was first back in, it is operator and secures the
	// channel the way the team would; if the bot was, this is refused.
	watcher.Mode(channel, "+sk", chanKey)
	d.waitStatus(t, "rejoined a private channel", func(st irc.Status) bool { return st.Private })
	g.release()

	for _, id := range queued {
		want := fmt.Sprintf("New incident SEC-%d", id)
		watcher.Expect(t, 2*wait, func(l ircnet.Line) bool {
			return fromBot("PRIVMSG", channel)(l) && strings.HasPrefix(l.Param(1), want)
		})
	}
	// Each queued incident also pinged bob and alice, who are offline: the
	// pings are highlights in the channel. None is lost or left behind.
	d.waitDelivered(t, 9, 2*wait, func(dl delivery) bool { return dl.err == nil && dl.m.IncidentID >= queued[0] })
	d.waitOutboxEmpty(t)
	if c := strings.Count(d.log.String(), `msg="connected to IRC"`); c != 2 {
		t.Errorf("connected %d times, want 2 (before and after the restart)", c)
	}
}
