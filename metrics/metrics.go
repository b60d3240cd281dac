// Package metrics is sectriage's Prometheus instrumentation. Counters of
// what happens only in the daemon (deliveries, commands, reloads) are
// incremented through small hooks; what the database knows (reports,
// incidents, nags, the outbox) is read from it at scrape time, so reports
// taken by `sectriage ingest` in another process count too, and nothing
// resets on restart. Everything lives in a prometheus.Registry of its own:
// no default registry, no package state.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sectriage/sectriage/bot"
)

const namespace = "sectriage"

// Metrics holds the registry and the hooks that feed it. Make one with New
// and hand its methods to the parts that report to it.
type Metrics struct {
	reg     *prometheus.Registry
	log     *slog.Logger
	state   *stateCollector
	adapter *adapterCollector

	deliveries *prometheus.CounterVec
	failures   *prometheus.CounterVec
	commands   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	reloads    *prometheus.CounterVec
	reloadedAt prometheus.Gauge
	notSent    *prometheus.CounterVec
}

// Source reads the database's counts at scrape time.
type Source func(ctx context.Context, now time.Time) (Snapshot, error)

// Options configure New.
type Options struct {
	Version string
	// Source is read at every scrape; nil leaves the database's families
	// out (the tests of single hooks).
	Source Source
	// ScrapeTimeout bounds the database reads of one scrape.
	ScrapeTimeout time.Duration
	Now           func() time.Time
}

// New makes the metrics and registers every family in a new registry,
// along with the Go runtime's and the process's own.
func New(opts Options, log *slog.Logger) *Metrics {
	if opts.ScrapeTimeout <= 0 {
		opts.ScrapeTimeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log.With("component", "metrics"),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "deliveries_total",
			Help: "Outbox messages delivered, by adapter (irc, mattermost, email).",
		}, []string{"adapter"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "delivery_failures_total",
			Help: "Failed delivery attempts, by adapter; final=\"true\" when the message was given up (a dead letter), else it is retried.",
		}, []string{"adapter", "final"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "commands_total",
			Help: "Chat commands run, by platform and outcome (ok, invalid, forbidden, not_found, conflict, internal).",
		}, []string{"platform", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "command_duration_seconds",
			Help:    "Time to run a chat command and produce its reply, by platform.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"platform"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "config_reloads_total",
			Help: "Configuration reloads (SIGHUP), by result: applied or refused.",
		}, []string{"result"}),
		reloadedAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "config_last_reload_success_timestamp_seconds",
			Help: "When the configuration in force was loaded (start or last applied reload), Unix time.",
		}),
		notSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "acknowledgements_not_sent_total",
			Help: "Acknowledgements settled without being sent, by reason: refused (the mail server will not take the reporter's address; the reporter's problem, not an outage) or capped (the form acknowledged that address within a day).",
		}, []string{"reason"}),
		adapter: &adapterCollector{desc: prometheus.NewDesc(namespace+"_adapter_connected",
			"1 when the adapter is connected and usable (IRC: joined the verified-private triage channel; Mattermost: websocket up; IMAP: logged in with the mailbox selected).",
			[]string{"adapter"}, nil)},
	}
	m.reloadedAt.Set(float64(opts.Now().Unix()))
	for _, reason := range []string{"refused", "capped"} {
		m.notSent.WithLabelValues(reason) // at zero from the start, for alerts
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info", Help: "Always 1; the version is a label.",
		ConstLabels: prometheus.Labels{"version": opts.Version},
	})
	info.Set(1)
	m.reg.MustRegister(m.deliveries, m.failures, m.commands, m.latency, m.reloads, m.reloadedAt, m.notSent, info, m.adapter,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.Source != nil {
		m.state = newStateCollector(opts.Source, opts.ScrapeTimeout, opts.Now)
		m.reg.MustRegister(m.state)
	}
	return m
}

// Registry is where the families live, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format. A family that
// cannot be read (the database is locked past the timeout) is reported to
// the log and left out; the rest is served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slogPrinter{m.log},
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            m.reg, // promhttp_metric_handler_errors_total
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})
}

// ObserveDelivery is the outbox's Observe hook: it counts every delivery
// attempt by its outcome.
func (m *Metrics) ObserveDelivery(msg bot.OutboxMessage, err error) {
	adapter := msg.Dest.Platform
	if err == nil {
		m.deliveries.WithLabelValues(adapter).Inc()
		return
	}
	var perm *bot.PermanentError
	final := "false"
	if errors.As(err, &perm) {
		final = "true"
	}
	m.failures.WithLabelValues(adapter, final).Inc()
}

// ObserveCommand counts one command and its latency. failed and kind come
// from the reply.
func (m *Metrics) ObserveCommand(platform string, failed bool, kind bot.Kind, took time.Duration) {
	outcome := "ok"
	if failed {
		outcome = strings.ReplaceAll(string(kind), " ", "_")
		if outcome == "" {
			outcome = "failed"
		}
	}
	if platform == "" {
		platform = "unknown"
	}
	m.commands.WithLabelValues(platform, outcome).Inc()
	m.latency.WithLabelValues(platform).Observe(took.Seconds())
}

// ObserveReload counts a reload; an applied one moves the timestamp.
func (m *Metrics) ObserveReload(applied bool, at time.Time) {
	if !applied {
		m.reloads.WithLabelValues("refused").Inc()
		return
	}
	m.reloads.WithLabelValues("applied").Inc()
	m.reloadedAt.Set(float64(at.Unix()))
}

// ObserveAcknowledgementNotSent counts an acknowledgement the mailer
// settled without sending (the email.SMTPOptions NotSent hook).
func (m *Metrics) ObserveAcknowledgementNotSent(reason string) {
	m.notSent.WithLabelValues(reason).Inc()
}

// AddDeliverer starts a platform's delivery series at zero, so that an
// alert on failures works before the first one.
func (m *Metrics) AddDeliverer(platform string) {
	m.deliveries.WithLabelValues(platform)
	m.failures.WithLabelValues(platform, "false")
	m.failures.WithLabelValues(platform, "true")
}

// WatchAdapter adds an adapter to sectriage_adapter_connected; connected
// is called at every scrape and must not block.
func (m *Metrics) WatchAdapter(name string, connected func() bool) { m.adapter.add(name, connected) }

// adapterCollector reads each adapter's state at scrape time: a gauge kept
// up to date by the adapters would need hooks in every reconnect path.
type adapterCollector struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	list []watchedAdapter
}

type watchedAdapter struct {
	name      string
	connected func() bool
}

func (c *adapterCollector) add(name string, connected func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, watchedAdapter{name, connected})
}

func (c *adapterCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *adapterCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	list := append([]watchedAdapter(nil), c.list...)
	c.mu.Unlock()
	for _, a := range list {
		v := 0.0
		if a.connected() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, a.name)
	}
}

// slogPrinter lets promhttp report scrape errors to the log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		if err, ok := x.(error); ok {
			b.WriteString(err.Error())
		} else if s, ok := x.(string); ok {
			b.WriteString(s)
		}
	}
	p.log.Warn("metrics scrape incomplete", "err", b.String())
}
