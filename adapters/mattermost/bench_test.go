package mattermost

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// timings records how long the slash command handler takes per request.
type timings struct {
	mu         sync.Mutex
	d          []time.Duration
	start, end []time.Time
}

func (tm *timings) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		if r.URL.Path == CommandPath {
			tm.mu.Lock()
			end := time.Now()
			tm.d = append(tm.d, end.Sub(start))
			tm.start, tm.end = append(tm.start, start), append(tm.end, end)
			tm.mu.Unlock()
		}
	})
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkSlashCommand measures the /sec handler on the real server:
// from the request Mattermost sends to the response written (handler),
// and the user's whole round trip through Mattermost (round trip). The
// "mattermost" case is a command Mattermost answers itself (/shrug, which
// posts in the channel as claim's answer does): the floor to compare with.
//
//	CI=1 go test -run '^$' -bench SlashCommand -benchtime 200x ./adapters/mattermost
func BenchmarkSlashCommand(b *testing.B) {
	for _, tc := range []struct{ name, line string }{
		{"help", "/sec help"},                 // answered from the registry, ephemeral
		{"claim", "/sec claim %d"},            // held already after the first: no change; privacy check, in_channel answer
		{"list", "/sec list"},                 // reads the incidents, ephemeral
		{"unknown", "/sec frobnicate %d now"}, // refused
		{"mattermost", "/shrug claim %d"},     // Mattermost's own command
	} {
		b.Run(tc.name, func(b *testing.B) {
			tm := &timings{}
			w := newWorld(b, worldOptions{wrap: tm.wrap})
			inc := w.c.open(b, "Benchmark incident")
			w.c.waitDelivered(b, bot.MessageNewIncident, nil)
			alice := w.client(b, "alice")
			line := tc.line
			if strings.Contains(line, "%d") {
				line = fmt.Sprintf(line, inc.ID)
			}
			var rt, pre, post []time.Duration
			tm.mu.Lock()
			first := len(tm.d)
			tm.mu.Unlock()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if _, _, err := alice.ExecuteCommand(ctxT(b), w.triage.Id, line); err != nil {
					b.Fatal(err)
				}
				end := time.Now()
				rt = append(rt, end.Sub(start))
				tm.mu.Lock()
				if len(tm.d) == first+i+1 {
					pre = append(pre, tm.start[first+i].Sub(start))
					post = append(post, end.Sub(tm.end[first+i]))
				}
				tm.mu.Unlock()
			}
			b.StopTimer()
			tm.mu.Lock()
			defer tm.mu.Unlock()
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			if len(pre) > 0 {
				b.ReportMetric(ms(percentile(pre, 0.50)), "tobot-p50-ms")
				b.ReportMetric(ms(percentile(pre, 0.99)), "tobot-p99-ms")
				b.ReportMetric(ms(percentile(post, 0.50)), "after-p50-ms")
				b.ReportMetric(ms(percentile(post, 0.99)), "after-p99-ms")
			}
			if len(tm.d) > 0 {
				b.ReportMetric(ms(percentile(tm.d, 0.50)), "handler-p50-ms")
				b.ReportMetric(ms(percentile(tm.d, 0.99)), "handler-p99-ms")
			}
			b.ReportMetric(ms(percentile(rt, 0.50)), "roundtrip-p50-ms")
			b.ReportMetric(ms(percentile(rt, 0.99)), "roundtrip-p99-ms")
		})
	}
}

// BenchmarkClaimRoundTrip compares a real claim (the incident changes, is
// written durably, its post is refreshed, the previous assignee is told)
// with Mattermost answering itself, interleaved in one world so that both
// meet the same load. Outside the measure, the incident is released from
// the command line before each claim, and every command's aftermath (the
// outbox drained, the incident's post refreshed) is awaited, so that each
// command starts on a quiet desk and pays only for its own work.
//
//	CI=1 go test -run '^$' -bench ClaimRoundTrip -benchtime 200x ./adapters/mattermost
func BenchmarkClaimRoundTrip(b *testing.B) {
	tm := &timings{}
	w := newWorld(b, worldOptions{wrap: tm.wrap})
	inc := w.c.open(b, "Benchmark incident")
	w.c.waitDelivered(b, bot.MessageNewIncident, nil)
	alice := w.client(b, "alice")
	ws := w.s.WebSocket(b, alice.AuthToken)
	edited := func(ev *model.WebSocketEvent) bool { return ev.EventType() == model.WebsocketEventPostEdited }
	cli := bot.Actor{Person: w.c.svc.Settings().People.ByName("alice"), Platform: bot.PlatformCLI}
	var claim, own, tobot, handler, after []time.Duration
	run := func(line string) time.Duration {
		tm.mu.Lock()
		n := len(tm.d)
		tm.mu.Unlock()
		start := time.Now()
		if _, _, err := alice.ExecuteCommand(ctxT(b), w.triage.Id, line); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		tm.mu.Lock()
		if len(tm.d) == n+1 {
			tobot = append(tobot, tm.start[n].Sub(start))
			handler = append(handler, tm.d[n])
			after = append(after, end.Sub(tm.end[n]))
		}
		tm.mu.Unlock()
		return end.Sub(start)
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if i > 0 {
			if r := w.c.reg.Run(ctxT(b), cli, fmt.Sprintf("unclaim %d", inc.ID), true); r.Failed {
				b.Fatalf("unclaim: %v", r.Text)
			}
			w.c.waitOutboxEmpty(b)
			ws.WaitFor(b, waitLong, edited)
		}
		b.StartTimer()
		// Alternate which goes first, so neither always follows the other.
		if i%2 == 1 {
			own = append(own, run(fmt.Sprintf("/shrug claim %d", inc.ID)))
		}
		claim = append(claim, run(fmt.Sprintf("/sec claim %d", inc.ID)))
		b.StopTimer()
		w.c.waitOutboxEmpty(b)
		ws.WaitFor(b, waitLong, edited)
		b.StartTimer()
		if i%2 == 0 {
			own = append(own, run(fmt.Sprintf("/shrug claim %d", inc.ID)))
		}
	}
	b.StopTimer()
	if got := w.c.incident(b, inc.ID); !got.Claimed || got.Assignee != "alice" {
		b.Fatalf("after the claims: assignee %q, claimed %v", got.Assignee, got.Claimed)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, p := range []struct {
		name string
		q    float64
	}{{"p50", 0.50}, {"p99", 0.99}} {
		c, m := percentile(claim, p.q), percentile(own, p.q)
		b.ReportMetric(ms(c), "claim-"+p.name+"-ms")
		b.ReportMetric(ms(m), "mattermost-"+p.name+"-ms")
		b.ReportMetric(float64(c)/float64(m), "ratio-"+p.name)
		// Where a claim's time goes: Mattermost until it calls the bot,
		// the bot's handler, Mattermost from the answer to its reply.
		b.ReportMetric(ms(percentile(tobot, p.q)), "tobot-"+p.name+"-ms")
		b.ReportMetric(ms(percentile(handler, p.q)), "handler-"+p.name+"-ms")
		b.ReportMetric(ms(percentile(after, p.q)), "after-"+p.name+"-ms")
	}
}
