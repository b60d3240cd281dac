package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sectriage/sectriage/bot"
)

// responseBuckets are the histogram's upper bounds: hours for
// acknowledgement, days to months for fixes.
var responseBuckets = []float64{
	(1 * time.Hour).Seconds(), (4 * time.Hour).Seconds(), (12 * time.Hour).Seconds(),
	(24 * time.Hour).Seconds(), (48 * time.Hour).Seconds(), (5 * 24 * time.Hour).Seconds(),
	(7 * 24 * time.Hour).Seconds(), (14 * 24 * time.Hour).Seconds(), (30 * 24 * time.Hour).Seconds(),
	(60 * 24 * time.Hour).Seconds(), (90 * 24 * time.Hour).Seconds(), (180 * 24 * time.Hour).Seconds(),
	(365 * 24 * time.Hour).Seconds(),
}

// responseCollector exports what `stats` shows as histograms,
// sectriage_response_seconds{measure, sig, severity}, over every incident
// that reached the measure. It reads every timeline, so it recomputes at
// most once per refresh and serves the last result in between: scrapes
// come every few seconds, the figures move in hours.
type responseCollector struct {
	svc     *bot.Service
	log     *slog.Logger
	refresh time.Duration
	now     func() time.Time
	desc    *prometheus.Desc

	mu   sync.Mutex
	at   time.Time
	last []prometheus.Metric
}

func newResponseCollector(svc *bot.Service, refresh time.Duration, log *slog.Logger) *responseCollector {
	return &responseCollector{svc: svc, log: log, refresh: refresh, now: time.Now,
		desc: prometheus.NewDesc("sectriage_response_seconds",
			"Time from an incident's creation to its first acknowledgement, its triage decision and its fix (disclosed), read from the timelines.",
			[]string{"measure", "sig", "severity"}, nil)}
}

func (c *responseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *responseCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil || c.now().Sub(c.at) >= c.refresh {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		metrics, err := c.compute(ctx)
		cancel()
		if err != nil {
			// The previous figures stay: better stale than a gap.
			c.log.Warn("metrics: response times not computed", "err", err)
		} else {
			c.last, c.at = metrics, c.now()
		}
	}
	for _, m := range c.last {
		ch <- m
	}
}

func (c *responseCollector) compute(ctx context.Context) ([]prometheus.Metric, error) {
	st, err := c.svc.Stats(ctx, bot.SystemActor(), bot.StatsQuery{})
	if err != nil {
		return nil, err
	}
	type key struct{ measure, sig, severity string }
	type hist struct {
		count   uint64
		sum     float64
		buckets map[float64]uint64
	}
	hs := map[key]*hist{}
	for _, m := range st.Milestones {
		for _, measure := range bot.Measures {
			d, ok := m.Took(measure)
			if !ok {
				continue
			}
			k := key{measure, m.SIG, string(m.Severity)}
			h := hs[k]
			if h == nil {
				h = &hist{buckets: map[float64]uint64{}}
				hs[k] = h
			}
			s := d.Seconds()
			h.count++
			h.sum += s
			for _, b := range responseBuckets {
				if s <= b {
					h.buckets[b]++ // cumulative, as Prometheus counts them
				}
			}
		}
	}
	out := make([]prometheus.Metric, 0, len(hs))
	for k, h := range hs {
		m, err := prometheus.NewConstHistogram(c.desc, h.count, h.sum, h.buckets, k.measure, k.sig, k.severity)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
