package metrics

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sectriage/sectriage/bot"
)

// Snapshot is what the database says at one moment: the counts behind the
// families read at scrape time.
type Snapshot struct {
	ReportsBySource     map[string]int // every message received, by source
	ReportsDecrypted    int            // reports that became incidents and were encrypted
	QuarantinedByReason map[string]int
	// IncidentsByState counts incidents by state, over every SIG: a
	// count by SIG and state would say which component has a confirmed,
	// embargoed vulnerability.
	IncidentsByState map[string]int
	// Overdue counts open incidents whose earliest deadline passed.
	Overdue int
	// NagsByStep counts nags sent by step; deputy and officers are
	// escalations, the rest (assignee, embargo, handover, reminder) nags.
	NagsByStep map[string]int
	// OutboxHeldByPlatform counts messages held by the privacy rule
	// (not in OutboxPendingByPlatform), by platform.
	OutboxHeldByPlatform map[string]int
	// OutboxPendingByPlatform counts undelivered messages by platform;
	// each of Platforms has a series even at zero.
	OutboxPendingByPlatform map[string]int
	Platforms               []string
	OutboxOldest            time.Time // zero: nothing pending
	OutboxDead              int
}

// The label values every scrape shows, at zero if need be: a series that
// appears only with its first event cannot be alerted on with rate().
var (
	knownSources    = []string{bot.SourceIMAP, bot.SourcePipe, bot.SourceWeb}
	knownReasons    = bot.RejectReasons
	nagSteps        = []string{string(bot.StepAssignee), string(bot.StepEmbargo), string(bot.StepHandover), string(bot.StepReminder)}
	escalationSteps = []string{string(bot.StepDeputy), string(bot.StepOfficers)}
)

// withZeros returns counts with every key of known present.
func withZeros(counts map[string]int, known []string) map[string]int {
	out := make(map[string]int, len(counts)+len(known))
	for _, k := range known {
		out[k] = 0
	}
	for k, n := range counts {
		out[k] += n
	}
	return out
}

// stateCollector reads a Snapshot at each scrape. Counters from the
// database are exposed as counters: they only grow (nothing is deleted),
// and they survive restarts, which in-process counters would not.
type stateCollector struct {
	source  Source
	timeout time.Duration
	now     func() time.Time

	received, decrypted, quarantined     *prometheus.Desc
	incidents, overdue                   *prometheus.Desc
	pending, oldest, dead, nags, escalat *prometheus.Desc
	up                                   *prometheus.Desc
	held                                 *prometheus.Desc // outbox_held_messages
}

func newStateCollector(src Source, timeout time.Duration, now func() time.Time) *stateCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	}
	return &stateCollector{
		source: src, timeout: timeout, now: now,
		received:    d("reports_received_total", "Messages received by intake, by source (imap, pipe, web): every stored report and every message too large to store.", "source"),
		decrypted:   d("reports_decrypted_total", "Reports encrypted to the team key that were decrypted, verified and became incidents."),
		quarantined: d("reports_quarantined_total", "Messages quarantined instead of becoming incidents, by reason (wrong-key, integrity-failed, too-large, ...).", "reason"),
		incidents:   d("incidents", "Incidents by state (over all SIGs: no label may single out a confidential incident).", "state"),
		overdue:     d("incidents_overdue", "Open incidents whose earliest deadline has passed."),
		pending:     d("outbox_pending_messages", "Messages waiting in the outbox to be delivered, by platform.", "platform"),
		oldest:      d("outbox_oldest_pending_age_seconds", "Age of the oldest undelivered message; 0 when the outbox is empty."),
		held:        d("outbox_held_messages", "Messages held because their destination fails the privacy rule (not private, or someone not on the team in it), by platform: fix the destination and they go out.", "platform"),
		dead:        d("outbox_dead_messages", "Messages given up after a permanent failure (dead letters), ever."),
		nags:        d("nags_sent_total", "Nags queued to people, by step (assignee: a deadline passed; embargo, handover, reminder).", "step"),
		escalat:     d("escalations_sent_total", "Escalations queued to people, by step (deputy, officers).", "step"),
		up:          d("database_up", "1 when the last scrape could read the database."),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.received, c.decrypted, c.quarantined, c.incidents, c.overdue,
		c.pending, c.oldest, c.dead, c.nags, c.escalat, c.up, c.held} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	// Collect has no context of its own: the timeout keeps a locked
	// database from holding the scrape forever.
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	now := c.now()
	s, err := c.source(ctx, now)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		ch <- prometheus.NewInvalidMetric(c.received, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	counter := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for source, n := range withZeros(s.ReportsBySource, knownSources) {
		counter(c.received, n, source)
	}
	counter(c.decrypted, s.ReportsDecrypted)
	for reason, n := range withZeros(s.QuarantinedByReason, knownReasons) {
		counter(c.quarantined, n, reason)
	}
	states := make([]string, len(bot.States))
	for i, st := range bot.States {
		states[i] = string(st)
	}
	for state, n := range withZeros(s.IncidentsByState, states) {
		gauge(c.incidents, float64(n), state)
	}
	gauge(c.overdue, float64(s.Overdue))
	nags := withZeros(s.NagsByStep, append(append([]string(nil), nagSteps...), escalationSteps...))
	for step, n := range nags {
		if slices.Contains(escalationSteps, step) {
			counter(c.escalat, n, step)
		} else {
			counter(c.nags, n, step)
		}
	}
	for platform, n := range withZeros(s.OutboxPendingByPlatform, s.Platforms) {
		gauge(c.pending, float64(n), platform)
	}
	age := 0.0
	if !s.OutboxOldest.IsZero() {
		age = max(now.Sub(s.OutboxOldest).Seconds(), 0)
	}
	gauge(c.oldest, age)
	for platform, n := range withZeros(s.OutboxHeldByPlatform, s.Platforms) {
		gauge(c.held, float64(n), platform)
	}
	gauge(c.dead, float64(s.OutboxDead))
}
