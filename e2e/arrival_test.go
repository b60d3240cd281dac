package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// TestArrivalFigures measures a report's arrival → its post on Mattermost
// and its announcement on IRC, against a running `sectriage run` and the
// real servers, by path:
//
//   - ingest: `sectriage ingest -v` as an MTA pipe runs it, handing the
//     message to the daemon over the control socket (the test checks -v
//     says so); arrival is the start of the process.
//   - imap: the message dropped into the Maildir as an MDA does; the
//     daemon hears of it through IMAP IDLE. Arrival is the drop.
//
// Post times are the servers' own (Mattermost's create_at, IRC's
// server-time tag), so the test's scheduling is not in them. The imap
// figure includes Dovecot's own delay in telling an IDLE client of new
// mail, measured apart once the daemon is stopped: a Maildir drop into
// INBOX (as the imap path) and an IMAP APPEND over another connection →
// EXISTS at an IDLE client of the test's. (Not while the daemon runs: it
// moves a report out within milliseconds, and a second IDLE session
// notified after that never hears of it.)
//
// IRC is measured on a quiet desk: the next report goes in once the bot
// sent every line about the previous one (about ten) and its send budget
// ([irc] rate: 10 lines, then one a second) has a line again, so pacing is
// not in the figure; that costs ~7 s a report, so IRC gets a fifth of the
// reports. The rest go in one at a time once the previous one is on
// Mattermost. CI runs 10 per path, 2 of them on IRC (about a minute with
// the servers' start-up); SECTRIAGE_E2E_FIGURES=N runs N per path, for the
// figures in README:
//
//	CI=1 SECTRIAGE_E2E_FIGURES=100 go test -run Figures -v -timeout 30m ./e2e
func TestArrivalFigures(t *testing.T) {
	n := 10
	if v := os.Getenv("SECTRIAGE_E2E_FIGURES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 5 {
			t.Fatalf("SECTRIAGE_E2E_FIGURES=%q: want a number (≥ 5) of reports per path", v)
		}
	}
	nIRC := max(2, n/5)
	start := time.Now()
	w := newWorld(t, settings{MaxBodyLines: 25, ChannelPerIncident: true}, realisticKeys)
	mm := w.watchMattermost(t, "alice")
	alice := w.ircUsers["alice"]
	d := startDaemon(t, w.config)
	d.waitReady(t, wait)
	t.Logf("servers, keys and daemon ready after %v", time.Since(start).Round(time.Millisecond))

	type figures struct{ mm, irc, commit, handover []time.Duration }
	byPath := map[string]*figures{"ingest": {}, "imap": {}}
	probe := func(path string, onIRC bool) {
		f := byPath[path]
		subject := probeSubject()
		raw := w.report(t, subject, "Probe report.\nNothing else.\n")
		// Real reports arrive at random moments, not in step with
		// anything the previous one started.
		time.Sleep(rand.N(250 * time.Millisecond))
		t0 := time.Now()
		switch path {
		case "ingest":
			r := runBinary(t, raw, "ingest", "-v", "-config", w.config)
			f.handover = append(f.handover, time.Since(t0))
			if r.code != 0 || !strings.Contains(r.stderr, "handed to the daemon") {
				t.Fatalf("ingest -v: exit %d, want 0 and the message handed to the daemon:\n%s", r.code, r.stderr)
			}
		case "imap":
			w.imap.Deliver(t, raw)
		}
		// Reports go one at a time: the first incident logged after t0 is
		// this one.
		l, ok := d.log.wait(wait, func(l logLine) bool {
			return l.At.After(t0) && strings.Contains(l.Text, `msg="report became an incident"`)
		})
		if !ok {
			t.Fatalf("%s: the daemon logged no new incident within %v", path, wait)
		}
		f.commit = append(f.commit, logTime(t, l.Text).Sub(t0))
		p := mm.waitPost(t, wait, subject, w.byBot("P", subject))
		f.mm = append(f.mm, time.UnixMilli(p.CreateAt).Sub(t0))
		if !onIRC {
			return
		}
		ann := alice.Seen(t, time.Minute, fromBot("PRIVMSG", ircChannel, "New incident", subject))
		f.irc = append(f.irc, serverTime(ann).Sub(t0))
		// The last line about it, alice's ping as its manager, then one
		// line of budget back.
		last := alice.Seen(t, time.Minute, fromBot("PRIVMSG", "alice", "incident manager", subject))
		time.Sleep(time.Until(serverTime(last).Add(time.Second)))
	}
	// IRC first, while its queue is empty; the Mattermost-only reports
	// after leave it a backlog.
	for _, path := range []string{"ingest", "imap"} {
		for range nIRC {
			probe(path, true)
		}
	}
	t.Logf("IRC probes done after %v", time.Since(start).Round(time.Millisecond))
	for _, path := range []string{"ingest", "imap"} {
		for range n - nIRC {
			probe(path, false)
		}
	}
	t.Logf("Mattermost probes done after %v", time.Since(start).Round(time.Millisecond))
	d.stop(t)
	drop, appended := w.idleDelay(t, n)
	t.Logf("Dovecot probes done after %v", time.Since(start).Round(time.Millisecond))

	line := func(what string, d []time.Duration) {
		t.Logf("  %-36s n=%-3d p50 %4.0f ms   p99 %4.0f ms   max %4.0f ms", what, len(d),
			ms(percentile(d, 0.50)), ms(percentile(d, 0.99)), ms(percentile(d, 1)))
	}
	t.Logf("arrival → post (p99 is nearest-rank: with fewer than 100 it is the max):")
	for _, path := range []string{"ingest", "imap"} {
		f := byPath[path]
		t.Logf("%s:", path)
		if path == "ingest" {
			line("ingest -v process (start → exit 0)", f.handover)
		}
		line("committed (daemon's log)", f.commit)
		line("Mattermost post", f.mm)
		line("IRC announcement (quiet desk)", f.irc)
	}
	t.Logf("Dovecot alone, to an IDLE client's EXISTS:")
	line("Maildir drop → EXISTS", drop)
	line("APPEND (logged in) → EXISTS", appended)
}

// idleDelay measures Dovecot's own IDLE notification delay, n times each:
// a Maildir drop into INBOX, and an APPEND over a connection already
// logged in, → the EXISTS an IDLE client of the test's on INBOX hears.
// Nothing else may be watching INBOX (see TestArrivalFigures).
func (w *world) idleDelay(t *testing.T, n int) (drop, appended []time.Duration) {
	t.Helper()
	exists := newFeed[time.Time]()
	c := w.imap.Client(t, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		// Runs on the reader goroutine: only note the time.
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists.add(time.Now())
			}
		},
		Fetch: func(m *imapclient.FetchMessageData) { _, _ = m.Collect() },
	}})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	appender := w.imap.Client(t, nil)
	for i := range 2 * n {
		raw := []byte(fmt.Sprintf("Subject: idle probe %d\r\n\r\nx\r\n", i))
		time.Sleep(rand.N(250 * time.Millisecond))
		t0 := time.Now()
		if i%2 == 0 {
			w.imap.Deliver(t, raw)
		} else {
			cmd := appender.Append("INBOX", int64(len(raw)), nil)
			if _, err := cmd.Write(raw); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := cmd.Wait(); err != nil {
				t.Fatal(err)
			}
		}
		at, ok := exists.wait(wait, func(at time.Time) bool { return at.After(t0) })
		if !ok {
			t.Fatalf("the test's IDLE client heard of no new mail within %v", wait)
		}
		if i%2 == 0 {
			drop = append(drop, at.Sub(t0))
		} else {
			appended = append(appended, at.Sub(t0))
		}
	}
	return drop, appended
}

var probes atomic.Int64

// probeSubject is a subject no other report of this run has.
func probeSubject() string {
	return fmt.Sprintf("Latency probe %d-%d", os.Getpid(), probes.Add(1))
}

var logTimeRE = regexp.MustCompile(`time=(\S+) level=INFO msg="report became an incident"`)

// logTime is the time of the "report became an incident" line in a log.
func logTime(t testing.TB, log string) time.Time {
	t.Helper()
	m := logTimeRE.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no \"report became an incident\" line in:\n%s", log)
	}
	at, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		t.Fatal(err)
	}
	return at
}
