package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/adapters/mattermost"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/health"
	"github.com/sectriage/sectriage/metrics"
	"github.com/sectriage/sectriage/storage"
)

// runOptions are what main hands a subcommand besides its arguments.
type runOptions struct {
	// reload delivers SIGHUP to the daemon: re-read the config. main owns
	// the signal; tests send on a channel of their own. nil: no reloads.
	reload <-chan os.Signal
	// started, when set, is called once everything is built and the
	// listeners are bound, just before the daemon runs: tests hold the
	// running daemon through it instead of reading its log.
	started func(*running)
}

// running is what a test may hold of a started daemon.
type running struct {
	DB    *storage.DB
	Ready *health.Readiness
	Addrs map[string]net.Addr // bound listeners by config key ("server.listen")
}

// cmdRun is the daemon: it runs until SIGTERM/SIGINT and stops gracefully,
// leaving undelivered messages in the outbox for the next start.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, ro runOptions) int {
	fs, configPath := newFlags("run")
	if code, done := parseFlags(fs, args, stdout, stderr, exitUsage); done {
		return code
	}
	if fs.NArg() > 0 {
		usageError(stderr, mustSubcommand("run"))
		return exitUsage
	}
	cfg, ok := loadConfig(*configPath, stderr)
	if !ok {
		return exitUsage
	}
	log, level := newLevelLogger(cfg.Log, stderr)
	for _, w := range cfg.Warnings() {
		log.Warn("config: "+w.Msg, "file", w.File, "line", w.Line, "key", w.Key)
	}
	var ircOpts irc.Options
	if cfg.IRCEnabled() {
		var err error
		if ircOpts, err = ircOptions(cfg); err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitUsage
		}
	}
	cert, err := loadCertificate(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitUsage
	}
	// Before the database is opened, so that a second daemon does not even
	// run the migrations under the first one.
	lock, err := acquireInstanceLock(cfg.Resolve(cfg.Storage.Path))
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	defer lock.release()
	a, err := openApp(ctx, cfg, log, appOptions{platforms: chatPlatforms(cfg)})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	defer a.Close()
	// The daemon holds the whole team key unlocked: a wrong passphrase
	// stops it now rather than at the first report.
	if a.intake != nil {
		if err := a.intake.key.Unlock(); err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		}
	}

	m := metrics.New(metrics.Options{Version: version(), Source: statsSource(a.db, a.outbox.Platforms)}, log)
	a.outbox.Observe = m.ObserveDelivery
	runner := &observedRunner{Registry: a.reg, m: m}
	ready := health.NewReadiness(3*time.Second, log)
	ready.Add(databaseCheck(a.db))
	ready.Add(outboxCheck(a.db, cfg.Server.OutboxStuckAfter.Duration))
	m.Registry().MustRegister(newResponseCollector(a.svc, 5*time.Minute, log))
	rl := &reloader{path: *configPath, log: log, level: level, svc: a.svc, sched: a.sched, duty: a.duty, cert: cert,
		observe: m.ObserveReload, startCfg: cfg}

	// Everything that can fail on bad settings is built before anything runs.
	var runners []func(context.Context) error
	var reports mattermost.ReportReader // the decrypted body for new-incident posts
	if a.intake != nil {
		reports = a.intake.intake
		runners = append(runners, a.intake.run)
		if cfg.Email.IMAP != nil {
			src, err := newIMAP(cfg, a.intake.intake, log)
			if err != nil {
				fmt.Fprintln(stderr, "sectriage:", err)
				return exitFailed
			}
			watch(ready, m, "imap", func() error { return imapUsable(src) })
			runners = append(runners, src.Run)
		}
	}
	var utf8Mail func() (offered, known bool) // nil: no mail is sent
	if cfg.Email.SMTP != nil {
		mailer, err := newMailer(cfg, a.intake, a.db, m.ObserveAcknowledgementNotSent, log)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		}
		a.outbox.Register(bot.PlatformEmail, mailer)
		m.AddDeliverer(bot.PlatformEmail)
		utf8Mail = mailer.UTF8Addresses
		// One session at start learns whether the server offers SMTPUTF8,
		// which the form needs to know before it takes a UTF-8 address.
		runners = append(runners, func(ctx context.Context) error {
			if err := mailer.Check(ctx); err != nil && ctx.Err() == nil {
				log.Warn("the SMTP server could not be reached at start; the form takes only ASCII addresses until it is", "err", err)
			}
			return nil
		})
	}
	if cfg.IRCEnabled() {
		deps := irc.Deps{Service: a.svc, Commands: runner, Outbox: a.outbox, Channels: a.db, Record: a.svc, Queue: a.db}
		if reports != nil {
			deps.Reports = reports
		}
		adapter := irc.New(ircOpts, deps, log)
		a.outbox.Register(bot.PlatformIRC, adapter)
		m.AddDeliverer(bot.PlatformIRC)
		watch(ready, m, "irc", func() error { return ircUsable(adapter) })
		runners = append(runners, adapter.Run)
	}
	mounts := map[string]http.Handler{}
	var servers []server
	if cfg.Mattermost.Enabled() {
		opts, err := mattermostOptions(cfg, true)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitUsage
		}
		opts.Outbox = a.outbox // woken when the websocket is back
		mm, err := mattermost.New(opts, a.svc, runner, a.db, reports, log)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitUsage
		}
		a.outbox.Register(bot.PlatformMattermost, mm)
		mm.SetOutbox(a.outbox) // a channel fixed releases its held messages
		m.AddDeliverer(bot.PlatformMattermost)
		mounts["/mattermost/"] = mm.Handler()
		watch(ready, m, "mattermost", func() error { return mattermostUsable(mm) })
		rl.refresh = append(rl.refresh, mm.Refresh)
		runners = append(runners, mm.Run)
	}
	if err := publicationMounts(ctx, a.pub, mounts); err != nil {
		fmt.Fprintln(stderr, "sectriage: publication:", err)
		return exitFailed
	}
	if a.pub != nil {
		runners = append(runners, publicationWatcher(a))
	}
	trusted, err := trustedNetworks(cfg.TrustedProxies())
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitUsage
	}
	if cfg.Server.Enabled() {
		mux := newMux(mounts)
		opsRoutes(mux, ready, m.Handler(), cfg.Server.MetricsListen, trusted)
		if err := intakeHandlers(mux, a, trusted, utf8Mail, time.Now()); err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		}
		h := publicHandler(mux, int64(cfg.Server.MaxBodySize), cert != nil)
		servers = append(servers, server{key: "server.listen", addr: cfg.Server.Listen, h: h, tls: cert.tlsConfig(), log: log})
	}
	if addr := cfg.Server.MetricsListen; addr != "" {
		// Where the operator chose to serve the details: Prometheus
		// scrapes it from inside. Plain HTTP, small bodies.
		ops := http.NewServeMux()
		ops.HandleFunc("GET /healthz", health.Alive)
		ops.Handle("GET /readyz", ready)
		ops.Handle("GET /metrics", m.Handler())
		servers = append(servers, server{key: "server.metrics_listen", addr: addr, h: publicHandler(ops, 64<<10, false), log: log.With("listener", "metrics")})
	}
	// Bind before saying "running": an address in use stops the start
	// with the setting named, not a log line after it.
	addrs := map[string]net.Addr{}
	for _, s := range servers {
		ln, err := bindListener(s.key, s.addr)
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		}
		defer ln.Close() // serveListener closes it first on a normal stop
		addrs[s.key] = ln.Addr()
		runners = append(runners, func(ctx context.Context) error { return serveListener(ctx, ln, s.h, s.tls, s.log) })
	}
	if ro.reload != nil {
		runners = append(runners, func(ctx context.Context) error { return rl.Run(ctx, ro.reload) })
	}
	ctl, err := listenControl(cfg, a, log)
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	if ctl != nil {
		runners = append(runners, ctl.Run)
	}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.outbox.Run(ctx) })
	// What `sectriage ingest` and `sectriage cmd` queue without the daemon
	// (none was running, or another program wrote) is posted within a
	// fifth of a second, not at the outbox's next idle look; what they
	// hand over the control socket wakes the outbox at once.
	g.Go(func() error { return a.db.WatchCommits(ctx, 200*time.Millisecond, a.outbox.Wake) })
	g.Go(func() error { return a.sched.Run(ctx) })
	for _, r := range runners {
		g.Go(func() error { return r(ctx) })
	}
	log.Info("sectriage running", "version", version(), "database", a.db.Path(), "intake", a.intake != nil)
	if ro.started != nil {
		ro.started(&running{DB: a.db, Ready: ready, Addrs: addrs})
	}
	if err := g.Wait(); err != nil {
		log.Error("stopped with an error", "err", err)
		return exitFailed
	}
	log.Info("sectriage stopped")
	return exitOK
}

// server is one HTTP listener the daemon serves, by its config key.
type server struct {
	key, addr string
	h         http.Handler
	tls       *tls.Config
	log       *slog.Logger
}
