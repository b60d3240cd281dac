package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/sectriage/sectriage/adapters/email"
)

// keyPath is where the team's public key is served: the default
// security.txt Encryption URL.
const keyPath = "/pgp-key.asc"

// intakeHandlers adds the report side of the HTTP listener to mux: the
// report form, the public key and security.txt. Nothing is added without
// a team key: reports could not be read.
func intakeHandlers(mux *http.ServeMux, a *app, now time.Time) error {
	cfg := a.cfg
	if a.intake == nil {
		return nil
	}
	trusted, err := email.ParseNetworks(cfg.Intake.FormTrustedProxies)
	if err != nil {
		return fmt.Errorf("intake.form_trusted_proxies: %w", err)
	}
	to := ""
	if cfg.Email.SMTP != nil {
		to = cfg.Email.SMTP.From
	}
	mux.Handle("/report", email.NewFormHandler(a.intake.intake, email.FormOptions{
		MaxBytes: int64(cfg.Intake.FormMaxSize), RateLimit: cfg.Intake.FormRateLimit,
		RateWindow: cfg.Intake.FormRateWindow.Duration, TrustedProxies: trusted, To: to,
	}, a.log))
	st := cfg.SecurityTxt
	if st == nil {
		key, err := a.intake.key.ArmoredPublic()
		if err != nil {
			return err
		}
		mux.HandleFunc(keyPath, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/pgp-keys")
			_, _ = w.Write(key)
		})
		return nil
	}
	expires, err := st.ExpiresTime()
	if err != nil {
		return fmt.Errorf("security_txt.expires: %w", err)
	}
	opts := email.SecurityTxtOptions{
		Contact: st.Contact, Expires: expires, Encryption: st.Encryption, Canonical: st.Canonical,
		Policy: st.Policy, Acknowledgments: st.Acknowledgments, PreferredLanguages: st.PreferredLanguages, KeyPath: keyPath,
	}
	if opts.Encryption == "" {
		opts.Encryption = cfg.PublicURL() + keyPath
	}
	if opts.Canonical == "" {
		opts.Canonical = cfg.PublicURL() + email.SecurityTxtPath
	}
	if u, err := url.Parse(opts.Encryption); err == nil && u.Path != keyPath && u.Path != "" && sameHost(u, cfg.PublicURL()) {
		opts.KeyPath = u.Path // the configured URL points here: serve the key there
	}
	s, err := email.NewSecurityTxt(opts, a.intake.key, now)
	if err != nil {
		return err
	}
	s.Register(mux)
	if expires.Before(now) {
		a.log.Error("security.txt has expired: update [security_txt] expires", "expires", st.Expires)
	}
	return nil
}

func sameHost(u *url.URL, public string) bool {
	p, err := url.Parse(public)
	return err == nil && p.Host == u.Host
}

// serveHTTP runs the listener until ctx ends, then shuts it down
// gracefully: requests in flight (a report being stored) may finish.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("HTTP listener: %w", err)
	}
	log.Info("HTTP listener running", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("HTTP listener: %w", err)
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(shutdown)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}
}

// healthz answers 200 while the database answers.
func healthz(a *app) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.db.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	}
}
