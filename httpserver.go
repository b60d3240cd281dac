package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/health"
)

// serveHTTP runs a listener on addr until ctx ends, then shuts it down
// gracefully. tlsConfig nil means plain HTTP.
func serveHTTP(ctx context.Context, addr string, h http.Handler, tlsConfig *tls.Config, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return serveListener(ctx, ln, h, tlsConfig, log)
}

// serveListener serves h on ln. The timeouts keep slow or idle clients
// from holding connections; limitBodies and the handlers bound bodies.
func serveListener(ctx context.Context, ln net.Listener, h http.Handler, tlsConfig *tls.Config, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second, // Mattermost waits for slash answers up to its own timeout
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	log.Info("HTTP listener up", "addr", ln.Addr().String(), "tls", tlsConfig != nil)
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig.GetCertificate
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// newMux is the listener's routes: liveness and each adapter's callbacks.
// The daemon adds readiness, metrics and the report side.
func newMux(mounts map[string]http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", health.Alive)
	for prefix, h := range mounts {
		mux.Handle(prefix, h)
	}
	return mux
}

// certificate is the listener's TLS certificate, read from its files at
// start and again on every reload, so a renewed certificate is served
// without a restart (and without dropping connections).
type certificate struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

// loadCertificate reads the [server] certificate pair, if one is
// configured; nil means plain HTTP.
func loadCertificate(cfg *config.Config) (*certificate, error) {
	if !cfg.Server.TLS() {
		return nil, nil
	}
	c := &certificate{certFile: cfg.Resolve(cfg.Server.TLSCertFile), keyFile: cfg.Resolve(cfg.Server.TLSKeyFile)}
	pair, err := c.load()
	if err != nil {
		return nil, err
	}
	c.set(pair)
	return c, nil
}

// tlsPair is a certificate read from the files, not yet served.
type tlsPair = tls.Certificate

// load reads the files again without changing what is served.
func (c *certificate) load() (*tlsPair, error) {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("server.tls_cert_file/tls_key_file: %w", err)
	}
	return &pair, nil
}

// set serves pair from the next handshake on.
func (c *certificate) set(pair *tlsPair) { c.current.Store(pair) }

// tlsConfig serves the current certificate; nil for a nil certificate.
func (c *certificate) tlsConfig() *tls.Config {
	if c == nil {
		return nil
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.current.Load(), nil
		},
	}
}
