package irc_test

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// BenchmarkClaimRoundTrip measures `!claim` as a user sees it: from the
// PRIVMSG leaving bob's client to the bot's NOTICE arriving, through the
// real server, the account check, the command layer and SQLite. The
// network has no fake lag and the bot's own bucket is opened wide, so the
// figures are the bot's latency, not flood control. Each iteration claims
// and then unclaims, so every claim writes; only claims are timed.
//
//	CI=1 go test -run XXX -bench ClaimRoundTrip -benchtime 500x ./adapters/irc
func BenchmarkClaimRoundTrip(b *testing.B) {
	n := ircnet.Start(b, ircnet.Options{})
	n.RegisterAccounts(b, accounts...)
	securedChannel(b, n)
	d := startDesk(b, n, deskOptions{platforms: []string{}, tweak: func(o *irc.Options) {
		o.Burst, o.PerLine = 1000, time.Microsecond
	}})
	inc := d.open(b, "Benchmark incident", "")
	bob := joinAs(b, n, "bob", sasl("bob"))
	d.waitStatus(b, "joined a private channel", func(st irc.Status) bool { return st.Private })
	claim := "!claim " + strconv.FormatInt(inc.ID, 10)
	unclaim := "!unclaim " + strconv.FormatInt(inc.ID, 10)
	reply := func(prefix string) func(ircnet.Line) bool {
		return func(l ircnet.Line) bool {
			return fromBot("NOTICE", channel)(l) && strings.HasPrefix(l.Param(1), prefix)
		}
	}
	var rtts []time.Duration
	for b.Loop() {
		sent := time.Now()
		bob.Privmsg(channel, claim)
		l := bob.Expect(b, wait, reply("bob: You claimed"))
		rtts = append(rtts, l.At.Sub(sent))
		bob.Privmsg(channel, unclaim)
		bob.Expect(b, wait, reply("bob: You released"))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	pct := func(p float64) float64 {
		return float64(rtts[int(p*float64(len(rtts)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
