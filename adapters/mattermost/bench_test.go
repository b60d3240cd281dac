package mattermost

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// timings records how long the slash command handler takes per request.
type timings struct {
	mu sync.Mutex
	d  []time.Duration
}

func (tm *timings) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		if r.URL.Path == CommandPath {
			tm.mu.Lock()
			tm.d = append(tm.d, time.Since(start))
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
		{"claim", "/sec claim %d"},            // a change: privacy check of the channel, in_channel answer
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
			var rt []time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if _, _, err := alice.ExecuteCommand(ctxT(b), w.triage.Id, line); err != nil {
					b.Fatal(err)
				}
				rt = append(rt, time.Since(start))
			}
			b.StopTimer()
			tm.mu.Lock()
			defer tm.mu.Unlock()
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			if len(tm.d) > 0 {
				b.ReportMetric(ms(percentile(tm.d, 0.50)), "handler-p50-ms")
				b.ReportMetric(ms(percentile(tm.d, 0.99)), "handler-p99-ms")
			}
			b.ReportMetric(ms(percentile(rt, 0.50)), "roundtrip-p50-ms")
			b.ReportMetric(ms(percentile(rt, 0.99)), "roundtrip-p99-ms")
		})
	}
}
