package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/adapters/mattermost"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/control"
	"github.com/sectriage/sectriage/health"
	"github.com/sectriage/sectriage/metrics"
	"github.com/sectriage/sectriage/storage"
)

// daemon is `sectriage run` as a value, in the manner of WTF Dial's Main:
// openDaemon takes the lock, opens the database and the keys and binds
// every listener; Run serves until ctx ends; Close lets go of what Open
// took. Tests hold it and wait on Ready, never on the log.
type daemon struct {
	// DB is the daemon's database.
	DB *storage.DB
	// Addrs are the bound HTTP listeners by config key ("server.listen").
	Addrs map[string]net.Addr
	// ControlSocket is the control socket's path; "" when there is none
	// (the daemon runs on without one, see listenControl).
	ControlSocket string
	// Health is what /readyz answers from.
	Health *health.Readiness

	log       *slog.Logger
	a         *app
	lock      *instanceLock
	listeners []net.Listener
	ctl       *control.Server
	parts     []func(context.Context) error // run beside the outbox and scheduler
	// waits each return nil once their part is up (a chat connection, a
	// listener serving); Ready is closed when all have.
	waits []func(context.Context) error
	ready chan struct{}
	ran   bool
}

// daemonOptions are what main passes on besides the config.
type daemonOptions struct {
	path string // the config file, read again on reload
	// level is the logger's level, which a reload changes; nil: fixed.
	level *slog.LevelVar
	// reload delivers SIGHUP: re-read the config. nil: no reloads.
	reload <-chan os.Signal
}

// badSettings marks an Open error the operator fixes in the config: `run`
// exits with exitUsage for it, as for a config that does not load.
type badSettings struct{ err error }

func (e badSettings) Error() string { return e.err.Error() }
func (e badSettings) Unwrap() error { return e.err }

// openDaemon builds everything that can fail on bad settings, binds the
// listeners and the control socket, and returns the daemon ready to Run.
// On an error it has released whatever it took.
func openDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, opts daemonOptions) (_ *daemon, err error) {
	for _, w := range cfg.Warnings() {
		log.Warn("config: "+w.Msg, "file", w.File, "line", w.Line, "key", w.Key)
	}
	if opts.level == nil {
		opts.level = new(slog.LevelVar)
		opts.level.Set(logLevel(cfg.Log))
	}
	var ircOpts irc.Options
	if cfg.IRCEnabled() {
		if ircOpts, err = ircOptions(cfg); err != nil {
			return nil, badSettings{err}
		}
	}
	cert, err := loadCertificate(cfg)
	if err != nil {
		return nil, badSettings{err}
	}
	d := &daemon{log: log, Addrs: map[string]net.Addr{}, ready: make(chan struct{})}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	// Before the database is opened, so that a second daemon does not even
	// run the migrations under the first one.
	if d.lock, err = acquireInstanceLock(cfg.Resolve(cfg.Storage.Path)); err != nil {
		return nil, err
	}
	a, err := openApp(ctx, cfg, log, appOptions{platforms: chatPlatforms(cfg)})
	if err != nil {
		return nil, err
	}
	d.a, d.DB = a, a.db
	// The daemon holds the whole team key unlocked: a wrong passphrase
	// stops it now rather than at the first report.
	if a.intake != nil {
		if err := a.intake.key.Unlock(); err != nil {
			return nil, err
		}
	}

	m := metrics.New(metrics.Options{Version: version(), Source: statsSource(a.db, a.outbox.Platforms)}, log)
	a.outbox.Observe = m.ObserveDelivery
	runner := &observedRunner{Registry: a.reg, m: m}
	ready := health.NewReadiness(3*time.Second, log)
	d.Health = ready
	ready.Add(databaseCheck(a.db))
	ready.Add(outboxCheck(a.db, cfg.Server.OutboxStuckAfter.Duration))
	m.Registry().MustRegister(newResponseCollector(a.svc, 5*time.Minute, log))
	rl := &reloader{path: opts.path, log: log, level: opts.level, svc: a.svc, sched: a.sched, duty: a.duty, cert: cert,
		observe: m.ObserveReload, startCfg: cfg}

	// Everything that can fail on bad settings is built before anything runs.
	var reports mattermost.ReportReader // the decrypted body for new-incident posts
	if a.intake != nil {
		reports = a.intake.intake
		d.parts = append(d.parts, a.intake.run)
		if cfg.Email.IMAP != nil {
			src, err := newIMAP(cfg, a.intake.intake, log)
			if err != nil {
				return nil, err
			}
			watch(ready, m, "imap", func() error { return imapUsable(src) })
			d.parts = append(d.parts, src.Run)
			d.waits = append(d.waits, closed(src.Ready()))
		}
	}
	var utf8Mail func() (offered, known bool) // nil: no mail is sent
	if cfg.Email.SMTP != nil {
		mailer, err := newMailer(cfg, a.intake, a.db, m.ObserveAcknowledgementNotSent, log)
		if err != nil {
			return nil, err
		}
		a.outbox.Register(bot.PlatformEmail, mailer)
		m.AddDeliverer(bot.PlatformEmail)
		utf8Mail = mailer.UTF8Addresses
		// One session at start learns whether the server offers SMTPUTF8,
		// which the form needs to know before it takes a UTF-8 address.
		d.parts = append(d.parts, func(ctx context.Context) error {
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
		d.parts = append(d.parts, adapter.Run)
		d.waits = append(d.waits, func(ctx context.Context) error {
			// What /readyz's irc check asks, waited for on the adapter's
			// own change signal.
			_, err := adapter.WaitStatus(ctx, func(irc.Status) bool { return ircUsable(adapter) == nil })
			return err
		})
	}
	mounts := map[string]http.Handler{}
	var servers []server
	if cfg.Mattermost.Enabled() {
		opts, err := mattermostOptions(cfg, true)
		if err != nil {
			return nil, badSettings{err}
		}
		opts.Outbox = a.outbox // woken when the websocket is back
		mm, err := mattermost.New(opts, a.svc, runner, a.db, reports, log)
		if err != nil {
			return nil, badSettings{err}
		}
		a.outbox.Register(bot.PlatformMattermost, mm)
		mm.SetOutbox(a.outbox) // a channel fixed releases its held messages
		m.AddDeliverer(bot.PlatformMattermost)
		mounts["/mattermost/"] = mm.Handler()
		watch(ready, m, "mattermost", func() error { return mattermostUsable(mm) })
		rl.refresh = append(rl.refresh, mm.Refresh)
		d.parts = append(d.parts, mm.Run)
		d.waits = append(d.waits, closed(mm.Ready()))
	}
	if err := publicationMounts(ctx, a.pub, mounts); err != nil {
		return nil, fmt.Errorf("publication: %w", err)
	}
	if a.pub != nil {
		d.parts = append(d.parts, publicationWatcher(a))
	}
	trusted, err := trustedNetworks(cfg.TrustedProxies())
	if err != nil {
		return nil, badSettings{err}
	}
	if cfg.Server.Enabled() {
		mux := newMux(mounts)
		opsRoutes(mux, ready, m.Handler(), cfg.Server.MetricsListen, trusted)
		if err := intakeHandlers(mux, a, trusted, utf8Mail, time.Now()); err != nil {
			return nil, err
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
	for _, s := range servers {
		ln, err := bindListener(s.key, s.addr)
		if err != nil {
			return nil, err
		}
		d.listeners = append(d.listeners, ln) // serveListener closes it first on a normal stop
		d.Addrs[s.key] = ln.Addr()
		// Bound, so a client's connection waits in the backlog until
		// Serve takes it: the listener is up once its part has begun.
		up := make(chan struct{})
		d.parts = append(d.parts, func(ctx context.Context) error {
			close(up)
			return serveListener(ctx, ln, s.h, s.tls, s.log)
		})
		d.waits = append(d.waits, closed(up))
	}
	if opts.reload != nil {
		d.parts = append(d.parts, func(ctx context.Context) error { return rl.Run(ctx, opts.reload) })
	}
	if d.ctl, err = listenControl(cfg, a, log); err != nil {
		return nil, err
	}
	if d.ctl != nil {
		d.ControlSocket = d.ctl.Path()
		d.parts = append(d.parts, d.ctl.Run)
	}
	return d, nil
}

// closed waits for ch to be closed.
func closed(ch <-chan struct{}) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Ready is closed once every configured part is up: each chat and mail
// connection as /readyz counts it, and each listener serving. It stays
// open if Run ends first.
func (d *daemon) Ready() <-chan struct{} { return d.ready }

// Run runs every part under one errgroup until ctx ends or a part fails,
// then waits for all to stop. Undelivered messages stay in the outbox for
// the next start. It is called once.
func (d *daemon) Run(ctx context.Context) error {
	d.ran = true
	a := d.a
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.outbox.Run(ctx) })
	// What `sectriage ingest` and `sectriage cmd` queue without the daemon
	// (none was running, or another program wrote) is posted within a
	// fifth of a second, not at the outbox's next idle look; what they
	// hand over the control socket wakes the outbox at once.
	g.Go(func() error { return a.db.WatchCommits(ctx, 200*time.Millisecond, a.outbox.Wake) })
	g.Go(func() error { return a.sched.Run(ctx) })
	for _, p := range d.parts {
		g.Go(func() error { return p(ctx) })
	}
	g.Go(func() error {
		for _, w := range d.waits {
			if w(ctx) != nil {
				return nil // stopping before everything was up
			}
		}
		close(d.ready)
		return nil
	})
	d.log.Info("sectriage running", "version", version(), "database", a.db.Path(), "intake", a.intake != nil)
	if err := g.Wait(); err != nil {
		d.log.Error("stopped with an error", "err", err)
		return err
	}
	d.log.Info("sectriage stopped")
	return nil
}

// Close releases what openDaemon took: the listeners, the control socket
// (when Run did not remove it), the database and, last, the lock.
func (d *daemon) Close() error {
	var errs []error
	for _, ln := range d.listeners {
		ln.Close() // already closed by a Run that ended: nothing to report
	}
	if d.ctl != nil && !d.ran {
		errs = append(errs, d.ctl.Close())
	}
	if d.a != nil {
		errs = append(errs, d.a.Close())
	}
	errs = append(errs, d.lock.release())
	return errors.Join(errs...)
}
