package e2e

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

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
