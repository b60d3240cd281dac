package irc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// idleFor is how long TestIdleKeepsOneConnection leaves the bot alone.
// Five minutes is the point of the test, not slack: the bot's keep-alive
// PING goes out after 90 s of silence and the server's after 120 s, so
// five quiet minutes make the bot answer two server PINGs and send three
// of its own, each long after its last line. A deadline left over from
// an earlier line dropped the connection at the first of them (about 90 s
// after going quiet); one keep-alive round would not show a slower leak.
const idleFor = 5 * time.Minute

// TestIdleKeepsOneConnection: a bot on a TLS connection to a real
// InspIRCd, quiet after it has posted, stays on that one connection.
func TestIdleKeepsOneConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("leaves the bot idle for 5 minutes")
	}
	t.Parallel() // mostly waiting: let the other tests run meanwhile
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	alice := securedChannel(t, n)
	d := startDesk(t, n, deskOptions{tweak: func(o *irc.Options) { o.Server, o.TLS = n.TLSAddr(), n.TLSConfig() }})
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })
	// One delivery first: the bug was a deadline left behind by a line of
	// ours, so the bot must have written some before going quiet.
	d.open(t, "Before the quiet", "")
	d.waitOutboxEmpty(t)
	alice.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "Before the quiet")
	})

	start := time.Now()
	time.Sleep(idleFor)

	// Still the same connection, and it still works.
	inc := d.open(t, "After the quiet", "")
	alice.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "After the quiet")
	})
	d.waitOutboxEmpty(t)
	for _, l := range alice.Lines() {
		if l.Nick() == botNick && (l.Command == "QUIT" || l.Command == "PART") {
			t.Errorf("the bot left while idle: %s", l.Raw)
		}
	}
	log := d.log.String()
	if c := strings.Count(log, `msg="connected to IRC"`); c != 1 {
		t.Errorf("the bot connected %d times in %v idle, want 1", c, time.Since(start).Round(time.Second))
	}
	if strings.Contains(log, "i/o timeout") {
		t.Errorf("a write timed out while idle")
	}
	t.Logf("%v of silence on TLS, then incident %d posted", time.Since(start).Round(time.Second), inc.ID)
}
