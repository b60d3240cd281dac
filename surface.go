package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/health"
)

// The public surface: what the listener shows to whoever can reach it.
// Metrics and readiness details say which confidential incidents exist
// and how the desk is reached; they are served where the operator chose
// (server.metrics_listen) or to this host, never to the world.

// opsRoutes adds /readyz and /metrics to the public listener's mux. With
// metrics_listen set they live there, and the public listener answers
// /readyz with the bare status only. Without it, details and metrics go
// to local clients alone (see localClient); everyone else gets the bare
// status and a 404.
func opsRoutes(mux *http.ServeMux, ready *health.Readiness, metrics http.Handler, metricsListen string, trusted []*net.IPNet) {
	bare := ready.Bare()
	if metricsListen != "" {
		mux.Handle("GET /readyz", bare)
		return
	}
	mux.Handle("GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if localClient(r, trusted) {
			ready.ServeHTTP(w, r)
			return
		}
		bare.ServeHTTP(w, r)
	}))
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !localClient(r, trusted) {
			http.NotFound(w, r)
			return
		}
		metrics.ServeHTTP(w, r)
	}))
}

// forwardingHeaders are the headers by which a proxy names the client it
// relays for. A loopback connection carrying one is a proxy on this host
// speaking for someone else.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip", "X-Client-Ip", "True-Client-Ip", "Cf-Connecting-Ip"}

// localClient reports whether r comes from a process on this host and
// not through a proxy. Conservatively: the peer is a loopback address,
// it is not one of the trusted proxies (whatever they relay is someone
// else's request), and the request names no client of its own. A local
// reverse proxy that relays without saying so cannot be told apart: the
// README says to set metrics_listen then.
func localClient(r *http.Request, trusted []*net.IPNet) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, n := range trusted {
		if n.Contains(ip) {
			return false
		}
	}
	for _, h := range forwardingHeaders {
		if _, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			return false
		}
	}
	return true
}

// contentSecurityPolicy fits what the listener serves: plain text, JSON,
// a key. Nothing it answers may run script, load anything, be framed or
// post a form anywhere.
const contentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// secureHeaders sets the security headers on every response, whatever
// the handler (a 404 and a 413 included). hsts is set when the listener
// speaks HTTPS: a browser that came once over it never tries plain HTTP.
func secureHeaders(h http.Handler, hsts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Resource-Policy", "same-site")
		if hsts {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// limitBodies caps every request body at max bytes, whatever the route,
// method or content type, and answers 413 for a body over it. A declared
// length over the cap is refused at once; a body of unknown length
// (chunked) is read up to the cap before any handler runs, so even a
// handler that never reads its body (a GET route, a 404) cannot answer
// anything but 413 for an oversized one. Handlers with a lower limit of
// their own answer 413 for it too (tested route by route).
func limitBodies(h http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			tooLarge(w, max)
			drain(r.Body)
			return
		}
		if r.ContentLength < 0 {
			buf, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			if err != nil {
				http.Error(w, "the request body could not be read", http.StatusBadRequest)
				return
			}
			if int64(len(buf)) > max {
				tooLarge(w, max)
				drain(r.Body)
				return
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(buf)), int64(len(buf))
			r.TransferEncoding = nil
		}
		body := r.Body
		r.Body = http.MaxBytesReader(w, r.Body, max)
		h.ServeHTTP(w, r)
		drain(body)
	})
}

// drainLimit is how much of a body nobody read is read and dropped
// before the answer goes out (net/http buffers a short one until the
// handler returns). A client that asked to close the connection is
// otherwise cut off, with a reset, while still sending, and never sees
// the 413; a body larger than this is cut off all the same.
const drainLimit = 1 << 20

func drain(body io.Reader) { _, _ = io.CopyN(io.Discard, body, drainLimit) }

func tooLarge(w http.ResponseWriter, max int64) {
	http.Error(w, fmt.Sprintf("request body larger than %d bytes", max), http.StatusRequestEntityTooLarge)
}

// publicHandler is the whole public listener: routes, body cap and
// security headers, in the order that puts the headers on every answer.
func publicHandler(mux http.Handler, maxBody int64, tls bool) http.Handler {
	return secureHeaders(limitBodies(mux, maxBody), tls)
}

// trustedNetworks parses [server] trusted_proxies.
func trustedNetworks(list []string) ([]*net.IPNet, error) {
	n, err := email.ParseNetworks(list)
	if err != nil {
		return nil, fmt.Errorf("server.trusted_proxies: %w", err)
	}
	return n, nil
}
