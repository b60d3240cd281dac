package irc_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestRestartMidPostResumes: the network goes down for 20 s while the bot
// is in the middle of a long report. The bot is back as soon as the server
// answers, and the post goes on from its first unsent line: across the
// two connections every line reaches the channel once. The one line that may
// have been relayed without its echo reaching the bot is the single line
// in flight when the server died; the test reports it if that happened.
func TestRestartMidPostResumes(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	g := newGate()
	const lines = 60
	d := startDesk(t, n, deskOptions{gate: g, tweak: func(o *irc.Options) {
		o.ManageModes, o.MaxBodyLines, o.Burst, o.PerLine = true, 100, 4, 150*time.Millisecond
		o.ReconnectMin, o.ReconnectMax = 2*time.Second, 5*time.Minute // the defaults
	}})
	d.waitStatus(t, "made its new channel private", func(st irc.Status) bool { return st.Private })
	before := joinAs(t, n, "watcher", sasl("watcher"))

	var body strings.Builder
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&body, "body line %02d of the long report\n", i)
	}
	d.open(t, "A long report", body.String())
	isBody := regexp.MustCompile(`body line (\d\d) of`)
	before.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "body line 15 ")
	})
	g.hold() // the retry waits until the new watcher is in
	n.Stop()
	<-before.Done()
	d.waitStatus(t, "noticed the network was gone", func(st irc.Status) bool { return !st.Connected })
	// Long enough for the default backoff (2 s doubling, with jitter) to
	// have grown well past 5 s: the bot must come back with the server,
	// not at its next scheduled attempt.
	time.Sleep(20 * time.Second)
	n.Relaunch(t)
	back := time.Now()
	after := joinAs(t, n, "watcher", sasl("watcher"))
	after.Mode(channel, "+sk", chanKey) // refused if the bot was first in and did it
	d.waitStatus(t, "reconnected", func(st irc.Status) bool { return st.Connected })
	reconnected := time.Since(back)
	d.waitStatus(t, "rejoined a private channel", func(st irc.Status) bool { return st.Private })
	private := time.Since(back)
	g.release()
	after.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && isBody.MatchString(l.Param(1))
	})
	resumed := time.Since(back)
	after.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), fmt.Sprintf("body line %02d ", lines))
	})
	t.Logf("server back -> bot registered %v, in its private channel %v, first resumed line %v, post finished %v",
		reconnected.Round(10*time.Millisecond), private.Round(10*time.Millisecond), resumed.Round(10*time.Millisecond),
		time.Since(back).Round(10*time.Millisecond))
	if reconnected > 5*time.Second {
		t.Errorf("the bot took %v to reconnect after the server was back; want a few seconds", reconnected)
	}

	seen := map[string]int{}
	for _, c := range []*ircnet.Client{before, after} {
		for _, l := range c.Lines() {
			if m := isBody.FindStringSubmatch(l.Param(1)); m != nil && fromBot("PRIVMSG", channel)(l) {
				seen[m[1]]++
			}
		}
	}
	var dup []string
	for i := 1; i <= lines; i++ {
		k := fmt.Sprintf("%02d", i)
		switch seen[k] {
		case 1:
		case 0:
			t.Errorf("body line %s never arrived", k)
		default:
			dup = append(dup, fmt.Sprintf("%s x%d", k, seen[k]))
		}
	}
	// At-least-once is the bound for the single line in flight, and for
	// nothing else.
	if len(dup) > 1 || len(dup) == 1 && !strings.HasSuffix(dup[0], "x2") {
		t.Errorf("lines repeated after the restart: %v", dup)
	} else if len(dup) == 1 {
		t.Logf("the line in flight when the server died arrived twice: %s", dup[0])
	}
	if !strings.Contains(d.log.String(), `msg="resuming an interrupted message"`) {
		t.Errorf("the post was not resumed: the restart did not cut it")
	}
	d.waitOutboxEmpty(t)
}
