package irc_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestBurstPostsOneLinePerIncident: a dozen reports queued at once would
// take far longer than the backlog limit at the pace; the channel is told,
// gets one line per incident instead of announcements with bodies, misses
// none of them, and gets full posts again once the queue is short.
func TestBurstPostsOneLinePerIncident(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	securedChannel(t, n)
	watcher := joinAs(t, n, "watcher", sasl("watcher"))
	g := newGate()
	g.hold()
	d := startDesk(t, n, deskOptions{gate: g, tweak: func(o *irc.Options) { o.BacklogLimit = 2 * time.Second }})
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })

	body := strings.Repeat("a line of the report body\n", 30)
	const burst = 12
	var ids []int64
	for i := range burst {
		// One report makes one incident: each needs a body of its own.
		inc := d.open(t, fmt.Sprintf("Burst report %d", i), fmt.Sprintf("report %d\n", i)+body)
		ids = append(ids, inc.ID)
	}
	start := time.Now()
	g.release()
	watcher.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "One line per new incident until it clears")
	})
	d.waitOutboxEmpty(t)
	drained := time.Since(start)

	seen := map[int64]bool{}
	bodyLines, oneLiners := 0, 0
	for _, l := range watcher.Lines() {
		if !fromBot("PRIVMSG", channel)(l) {
			continue
		}
		text := l.Param(1)
		if strings.Contains(text, "a line of the report body") {
			bodyLines++
		}
		if strings.HasPrefix(text, "SEC-") && strings.Contains(text, " [unknown, core] Burst report ") && strings.Contains(text, " · show ") {
			oneLiners++
		}
		for _, id := range ids {
			if strings.Contains(text, fmt.Sprintf("SEC-%d ", id)) && strings.Contains(text, fmt.Sprintf("Burst report %d", id-ids[0])) {
				seen[id] = true
			}
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("SEC-%d never appeared in the channel", id)
		}
	}
	// Some posts may go out in full before the queue is measured long; the
	// rest are one line each.
	// The tail of the queue fits the limit again and may go out in full.
	if bodyLines > 2*25 || oneLiners < burst-2 {
		t.Errorf("%d report body lines and %d one-line posts in the burst: the channel was not kept current", bodyLines, oneLiners)
	}
	t.Logf("%d incidents drained in %v with %d body lines", burst, drained.Round(time.Millisecond), bodyLines)

	// The queue is short again: full posts, and the channel is told.
	d.open(t, "After the burst", "the calm report body")
	watcher.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "Caught up")
	})
	watcher.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "the calm report body")
	})
}
