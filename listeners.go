package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sectriage/sectriage/config"
)

// bindListener opens the listener of a config key ("server.listen"), and
// on failure names the key, so the operator knows which setting to change.
func bindListener(key, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (another program holds the address, or it is not this machine's: stop that program or choose another address)",
			sectionKey(key), addr, err)
	}
	return ln, nil
}

// sectionKey writes "server.listen" as the operator sees it in the file:
// "[server] listen".
func sectionKey(key string) string {
	if i := strings.LastIndex(key, "."); i > 0 {
		return "[" + key[:i] + "] " + key[i+1:]
	}
	return key
}

// listenKeys are the config's listener addresses by key, those set only.
func listenKeys(cfg *config.Config) [][2]string {
	var out [][2]string
	for _, l := range [][2]string{{"server.listen", cfg.Server.Listen}, {"server.metrics_listen", cfg.Server.MetricsListen}} {
		if l[1] != "" {
			out = append(out, l)
		}
	}
	return out
}

// checkListenersFree binds each configured address and lets it go. An
// address in use is an error unless a sectriage answers /healthz there:
// then it is the running daemon, checked before a reload or upgrade.
func checkListenersFree(ctx context.Context, c *checker, cfg *config.Config) {
	for _, l := range listenKeys(cfg) {
		ln, err := bindListener(l[0], l[1])
		if err == nil {
			ln.Close()
			c.ok("%s %s: free to bind", sectionKey(l[0]), l[1])
			continue
		}
		if answersHealth(ctx, l[1]) {
			c.ok("%s %s: in use by a running sectriage (it answers /healthz)", sectionKey(l[0]), l[1])
			continue
		}
		c.fail("%v", err)
	}
}

// answersHealth reports whether addr answers GET /healthz with sectriage's
// "ok". Plain HTTP first: a TLS listener answers that with a 400 naming
// HTTPS, and only then is HTTPS tried. The certificate is not verified:
// this only asks who is there. A holder that never answers costs the
// timeout once.
func answersHealth(ctx context.Context, addr string) bool {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // identifying, not trusting
	}}
	defer client.CloseIdleConnections()
	host := addr
	if h, port, err := net.SplitHostPort(addr); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
		host = net.JoinHostPort("localhost", port)
	}
	get := func(scheme string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host+"/healthz", nil)
		if err != nil {
			return 0, ""
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 128))
		return resp.StatusCode, string(body)
	}
	code, body := get("http")
	if code == http.StatusBadRequest && strings.Contains(body, "HTTPS") {
		code, body = get("https")
	}
	return code == http.StatusOK && body == "ok\n"
}
