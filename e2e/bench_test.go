package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// Latency of a report, from its arrival to the team seeing it: the
// benchmarks deliver reports one at a time to a running daemon and read
// when each was posted, from the servers' own timestamps (Mattermost's
// create_at, IRC's server-time tag), so the test's scheduling is not in
// the figure. Arrival is the moment the report is handed over: just before
// the maildir delivery (imap) or the start of the `sectriage ingest`
// process (ingest). Dovecot tells an IDLE client of new mail about 0.5 s
// after it arrived; the daemon's outbox looks for messages another
// process committed every 0.2 s (storage.DB.WatchCommits); both are in
// the figures.
//
//	CI=1 go test -run XXX -bench ArrivalToPost -benchtime 100x ./e2e
//	CI=1 go test -run XXX -bench ArrivalToIRC -benchtime 20x ./e2e

// BenchmarkArrivalToPost measures arrival → post on Mattermost, b.N
// reports per path, with IRC configured as well, as deployed. The next
// report goes in once the previous one is on Mattermost; IRC, paced to a
// line a second, falls behind and is measured by BenchmarkArrivalToIRC.
func BenchmarkArrivalToPost(b *testing.B) {
	w := newWorld(b, settings{MaxBodyLines: 25, ChannelPerIncident: true}, realisticKeys)
	mm := w.watchMattermost(b, "alice")
	d := startDaemon(b, w.config)
	d.waitReady(b, wait)
	for _, path := range []string{"imap", "ingest"} {
		b.Run(path, func(b *testing.B) {
			var lat, commit []time.Duration
			for range b.N {
				subject := probeSubject()
				raw := w.report(b, subject, "Probe report.\nNothing else.\n")
				arrivalGap()
				t0, committed := w.send(b, d, path, raw)
				p := mm.waitPost(b, wait, subject, w.byBot("P", subject))
				lat = append(lat, time.UnixMilli(p.CreateAt).Sub(t0))
				commit = append(commit, committed.Sub(t0))
			}
			reportLatency(b, "mm", lat)
			reportLatency(b, "commit", commit)
		})
	}
}

// BenchmarkArrivalToIRC measures arrival → the announcement line in the
// IRC channel on a quiet desk: the next report goes in once the bot has
// sent every line about the previous one and the send budget ([irc] rate,
// at most one line a second) has a line again, so the pacing of earlier
// posts is not in the figure.
func BenchmarkArrivalToIRC(b *testing.B) {
	w := newWorld(b, settings{MaxBodyLines: 25, ChannelPerIncident: true}, realisticKeys)
	alice := w.ircUsers["alice"]
	d := startDaemon(b, w.config)
	d.waitReady(b, wait)
	for _, path := range []string{"imap", "ingest"} {
		b.Run(path, func(b *testing.B) {
			var lat []time.Duration
			for range b.N {
				subject := probeSubject()
				raw := w.report(b, subject, "Probe report.\nNothing else.\n")
				arrivalGap()
				t0, _ := w.send(b, d, path, raw)
				l := alice.Seen(b, time.Minute, fromBot("PRIVMSG", ircChannel, "New incident", subject))
				lat = append(lat, serverTime(l).Sub(t0))
				// The last line about it: alice's ping as its manager.
				last := alice.Seen(b, time.Minute, fromBot("PRIVMSG", "alice", "incident manager", subject))
				time.Sleep(time.Until(serverTime(last).Add(time.Second))) // one line of budget back
			}
			reportLatency(b, "irc", lat)
		})
	}
}

// arrivalGap pauses for a random 0-1 s before a report is sent. Reports
// sent back to back, each as soon as the previous one was posted, would
// arrive in step with the daemon's 0.2 s look for other processes'
// commits (ingest) and always land at the same point of it; real reports
// arrive at random moments.
func arrivalGap() { time.Sleep(rand.N(time.Second)) }

var probes atomic.Int64

// probeSubject is a subject no other report of this run has.
func probeSubject() string {
	return fmt.Sprintf("Latency probe %d-%d", os.Getpid(), probes.Add(1))
}

// send hands raw to the daemon by path and returns when it did, and when
// its incident was committed (from the log line of whoever committed it).
func (w *world) send(b *testing.B, d *daemon, path string, raw []byte) (t0, committed time.Time) {
	b.Helper()
	switch path {
	case "imap":
		t0 = time.Now()
		w.imap.Deliver(b, raw)
		// Reports go one at a time: the first incident logged after t0 is it.
		l, ok := d.log.wait(wait, func(l logLine) bool {
			return l.At.After(t0) && strings.Contains(l.Text, `msg="report became an incident"`)
		})
		if !ok {
			b.Fatalf("the daemon logged no new incident within %v", wait)
		}
		return t0, logTime(b, l.Text)
	case "ingest":
		t0 = time.Now()
		r := runBinary(b, raw, "ingest", "-config", w.config)
		if r.code != 0 {
			b.Fatalf("ingest: exit %d\n%s", r.code, r.stderr)
		}
		return t0, logTime(b, r.stderr)
	}
	b.Fatalf("unknown path %q", path)
	return
}

var logTimeRE = regexp.MustCompile(`time=(\S+) level=INFO msg="report became an incident"`)

// logTime is the time of the "report became an incident" line in a log.
func logTime(b *testing.B, log string) time.Time {
	b.Helper()
	m := logTimeRE.FindStringSubmatch(log)
	if m == nil {
		b.Fatalf("no \"report became an incident\" line in:\n%s", log)
	}
	at, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		b.Fatal(err)
	}
	return at
}

// reportLatency reports the median and the 99th percentile (nearest rank)
// in milliseconds, and hides ns/op, which here is the pace of the test.
func reportLatency(b *testing.B, name string, d []time.Duration) {
	b.Helper()
	b.ReportMetric(ms(percentile(d, 0.50)), name+"-p50-ms")
	b.ReportMetric(ms(percentile(d, 0.99)), name+"-p99-ms")
	b.ReportMetric(ms(slices.Max(d)), name+"-max-ms")
	b.ReportMetric(0, "ns/op")
}

// percentile is the nearest-rank percentile p (0-1] of d.
func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Sorted(slices.Values(d))
	return s[int(math.Ceil(p*float64(len(s))))-1]
}

func median(d []time.Duration) time.Duration { return percentile(d, 0.5) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// realisticKeys makes gpg protect keys as it does by default: the
// passphrase's S2K calibrated by gpg-agent (about 100 ms of its hashing),
// not gpgtest's minimal count, so unlocking the team key at every start
// (`sectriage ingest` is one) costs what it costs an operator.
func realisticKeys(g *gpgtest.GPG) {
	for _, name := range []string{"gpg.conf", "gpg-agent.conf"} {
		path := filepath.Join(g.Home, name)
		conf, err := os.ReadFile(path)
		if err != nil {
			panic(err) // gpgtest.New wrote it
		}
		var keep []string
		for _, line := range strings.Split(string(conf), "\n") {
			if !strings.HasPrefix(line, "s2k-count") {
				keep = append(keep, line)
			}
		}
		if err := os.WriteFile(path, []byte(strings.Join(keep, "\n")), 0o600); err != nil {
			panic(err)
		}
	}
}
