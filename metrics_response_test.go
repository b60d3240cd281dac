package main

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
)

// TestResponseHistograms: /metrics carries what `stats` shows, as
// histograms by measure, SIG and severity, recomputed at most once per
// refresh.
func TestResponseHistograms(t *testing.T) {
	path := writeConfig(t) // SEC-1
	if out, code := runCmd(t, path, "bob", "claim", "1"); code != exitOK {
		t.Fatalf("claim: %s", out)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := openApp(ctx, cfg, discardLogger(), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := time.Now()
	c := newResponseCollector(a.svc, 5*time.Minute, discardLogger())
	c.now = func() time.Time { return now }
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	count := func(measure string) uint64 {
		t.Helper()
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, f := range fams {
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if f.GetName() == "sectriage_response_seconds" && labels["measure"] == measure && labels["sig"] == "core" && labels["severity"] == "unknown" {
					n += m.GetHistogram().GetSampleCount()
					if b := m.GetHistogram().GetBucket(); len(b) != len(responseBuckets) || b[0].GetCumulativeCount() != m.GetHistogram().GetSampleCount() {
						t.Errorf("buckets: %v", b) // acknowledged within the hour
					}
				}
			}
		}
		return n
	}
	if n := count(bot.MeasureAcknowledge); n != 1 {
		t.Fatalf("acknowledge count %d, want 1", n)
	}
	if n := count(bot.MeasureTriage); n != 0 {
		t.Fatalf("triage count %d, want 0", n)
	}
	if out, code := runCmd(t, path, "bob", "confirm", "1"); code != exitOK {
		t.Fatalf("confirm: %s", out)
	}
	if n := count(bot.MeasureTriage); n != 0 {
		t.Fatalf("recomputed within the refresh: triage count %d", n)
	}
	now = now.Add(5 * time.Minute)
	if n := count(bot.MeasureTriage); n != 1 {
		t.Fatalf("after the refresh: triage count %d, want 1", n)
	}
}
