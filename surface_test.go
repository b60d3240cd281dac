package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestLocalClient(t *testing.T) {
	proxies, _ := trustedNetworks([]string{"127.0.0.2", "10.0.0.0/8"})
	for _, c := range []struct {
		remote string
		header string
		local  bool
	}{
		{"127.0.0.1:5000", "", true},
		{"[::1]:5000", "", true},
		{"127.0.0.1:5000", "X-Forwarded-For: 203.0.113.9", false}, // a local proxy relaying
		{"127.0.0.1:5000", "Forwarded: for=203.0.113.9", false},
		{"127.0.0.1:5000", "X-Real-IP: 203.0.113.9", false},
		{"127.0.0.2:5000", "", false}, // a trusted proxy speaks for others
		{"10.1.2.3:5000", "", false},
		{"203.0.113.9:5000", "", false},
		{"192.168.1.5:5000", "", false},
		{"garbage", "", false},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = c.remote
		if k, v, ok := strings.Cut(c.header, ": "); ok {
			r.Header.Set(k, v)
		}
		if got := localClient(r, proxies); got != c.local {
			t.Errorf("%s %q: local %v, want %v", c.remote, c.header, got, c.local)
		}
	}
}

// refusingSMTP is an SMTP server on loopback that refuses every
// recipient starting with "bounce" (550) and takes the rest.
type refusingSMTP struct {
	addr  string
	mu    sync.Mutex
	rcpts []string
}

func startRefusingSMTP(t *testing.T) *refusingSMTP {
	t.Helper()
	s := &refusingSMTP{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &refusingSession{s: s}, nil }))
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

type refusingSession struct{ s *refusingSMTP }

func (ss *refusingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *refusingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	ss.s.rcpts = append(ss.s.rcpts, to)
	ss.s.mu.Unlock()
	if strings.HasPrefix(to, "bounce") {
		return &smtp.SMTPError{Code: 550, Message: "no such user"}
	}
	return nil
}
func (ss *refusingSession) Data(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }
func (ss *refusingSession) Reset()                 {}
func (ss *refusingSession) Logout() error          { return nil }

// surfaceDaemon runs the daemon with HTTPS on 0.0.0.0 (so that it can be
// reached from a non-loopback address of this host, when it has one),
// security.txt, the form and an SMTP server, all defaults otherwise:
// metrics_listen empty, no trusted proxies.
type surfaceDaemon struct {
	port   string
	roots  *x509.CertPool
	log    *syncBuffer
	smtp   *refusingSMTP
	public []string // base URLs an anonymous client reaches it by
}

const (
	surfaceMaxBody = 64 << 10
	surfaceFormMax = 32 << 10
)

func startSurfaceDaemon(t *testing.T) *surfaceDaemon {
	t.Helper()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	d := &surfaceDaemon{port: port, log: &syncBuffer{}, smtp: startRefusingSMTP(t)}
	cfg, _ := intakeConfig(t, `
[server]
listen = "0.0.0.0:`+port+`"
public_url = "https://127.0.0.1:`+port+`"
tls_cert_file = "cert.pem"
tls_key_file = "key.pem"
max_body_size = "64KiB"

[intake]
form_max_size = "32KiB"
form_rate_limit = 1000

[email.smtp]
address = "`+d.smtp.addr+`"
tls = "none"
from = "security@example.org"

[security_txt]
contact = ["mailto:security@example.org"]
expires = "`+time.Now().Add(200*24*time.Hour).UTC().Format(time.RFC3339)+`"
`)
	d.roots = writeCert(t, filepath.Dir(cfg), "surface", 24*time.Hour)
	startDaemon(t, cfg, d.log, nil)
	if ip := outsideIP(); ip != "" {
		d.public = append(d.public, "https://"+net.JoinHostPort(ip, port))
	}
	return d
}

// outsideIP is a non-loopback IPv4 address of this host, or "".
func outsideIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

func (d *surfaceDaemon) local() string { return "https://127.0.0.1:" + d.port }

// anonymous are the ways an anonymous client reaches the listener: from
// another address, and through a reverse proxy on this host.
func (d *surfaceDaemon) anonymous() []struct{ base, via string } {
	out := []struct{ base, via string }{
		{d.local(), "X-Forwarded-For: 203.0.113.9"},
		{d.local(), "Forwarded: for=203.0.113.9;proto=https"},
	}
	for _, b := range d.public {
		out = append(out, struct{ base, via string }{b, ""})
	}
	return out
}

// do sends one request; via is one extra header line, body nil for none.
func (d *surfaceDaemon) do(t *testing.T, base, method, path, via string, body io.Reader, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if k, v, ok := strings.Cut(via, ": "); ok {
		req.Header.Set(k, v)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: d.roots, ServerName: "127.0.0.1"}, DisableKeepAlives: true,
	}}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestPublicSurfaceAnonymous probes the daemon, in its default settings,
// as an anonymous client: no metrics, a bare readiness, and a form post
// with an address the SMTP server refuses does not change readiness.
func TestPublicSurfaceAnonymous(t *testing.T) {
	d := startSurfaceDaemon(t)
	if len(d.public) == 0 {
		t.Log("no non-loopback address on this host: probing through a local proxy only")
	}
	for _, a := range d.anonymous() {
		if code, _, body := d.do(t, a.base, "GET", "/metrics", a.via, nil, nil); code != http.StatusNotFound || strings.Contains(body, "sectriage_") {
			t.Errorf("GET /metrics from %s %q: %d\n%.200s", a.base, a.via, code, body)
		}
		if code, _, body := d.do(t, a.base, "GET", "/readyz", a.via, nil, nil); code != http.StatusOK || body != "ready\n" {
			t.Errorf("GET /readyz from %s %q: %d %q, want the bare status", a.base, a.via, code, body)
		}
	}
	code, _, body := d.do(t, d.local(), "GET", "/metrics", "", nil, nil)
	if code != http.StatusOK || !strings.Contains(body, "sectriage_incidents{state=") || strings.Contains(body, "sig=") {
		t.Fatalf("local GET /metrics: %d\n%s", code, body)
	}
	if code, _, body := d.do(t, d.local(), "GET", "/readyz", "", nil, nil); code != http.StatusOK || !strings.Contains(body, "ok   outbox") {
		t.Errorf("local GET /readyz: %d %q, want the details", code, body)
	}

	// The anonymous form post with an address the server refuses.
	a := d.anonymous()[0]
	form := url.Values{"email": {"bounce@example.net"}, "subject": {"hi"}, "body": {"a report"}}.Encode()
	code, _, body = d.do(t, a.base, "POST", "/report", a.via, strings.NewReader(form), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if code != http.StatusCreated {
		t.Fatalf("form: %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, m := d.do(t, d.local(), "GET", "/metrics", "", nil, nil)
		if strings.Contains(m, `sectriage_acknowledgements_not_sent_total{reason="refused"} 1`) {
			if !strings.Contains(m, "sectriage_outbox_dead_messages 0") {
				t.Errorf("a dead letter:\n%s", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the acknowledgement was not settled:\n%s\n%s", m, d.log.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the outbox's progress
	}
	for _, a := range d.anonymous() {
		if code, _, body := d.do(t, a.base, "GET", "/readyz", a.via, nil, nil); code != http.StatusOK {
			t.Errorf("after the refused acknowledgement, /readyz from %s: %d %q", a.base, code, body)
		}
	}
	if code, _, body := d.do(t, d.local(), "GET", "/readyz", "", nil, nil); code != http.StatusOK || strings.Contains(body, "fail") {
		t.Errorf("after the refused acknowledgement, local /readyz: %d %q", code, body)
	}
	if strings.Contains(d.log.String(), "bounce@example.net") {
		t.Error("the refused address is in the log")
	}
	// Line separators and controls in the contact address are refused at
	// submission; none ever reaches the SMTP server.
	for _, c := range []string{"\u0085", "\u2028", "\u2029", "\x00", "\x1b", "\r\nRCPT TO:<x@evil.example>"} {
		form := url.Values{"email": {"rita" + c + "@example.net"}, "body": {"a report"}}.Encode()
		code, _, body := d.do(t, a.base, "POST", "/report", a.via, strings.NewReader(form), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if code != http.StatusBadRequest {
			t.Errorf("address with %q: %d %s", c, code, body)
		}
	}
	d.smtp.mu.Lock()
	if len(d.smtp.rcpts) != 1 || d.smtp.rcpts[0] != "bounce@example.net" {
		t.Errorf("RCPT TO the server saw: %q", d.smtp.rcpts)
	}
	d.smtp.mu.Unlock()
	// The server never offered SMTPUTF8: a UTF-8 address is refused at
	// submission, with the reason.
	form = url.Values{"email": {"rité@example.net"}, "body": {"a report"}}.Encode()
	code, _, body = d.do(t, a.base, "POST", "/report", a.via, strings.NewReader(form), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if code != http.StatusBadRequest || !strings.Contains(body, "SMTPUTF8") {
		t.Errorf("UTF-8 address: %d %s", code, body)
	}
}

// surfaceRoutes is every route of the public listener with a method it
// serves, and paths it does not.
var surfaceRoutes = []struct{ method, path string }{
	{"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/metrics"}, {"POST", "/report"}, {"OPTIONS", "/report"},
	{"GET", "/.well-known/security.txt"}, {"GET", "/security.txt"}, {"GET", keyPath},
	{"POST", "/healthz"}, {"GET", "/nothing-here"}, {"POST", "/mattermost/command"},
	{"GET", "/report"}, {"GET", "/report/assets/report.js"}, {"POST", "/report/send"}, {"GET", "/status/x"}, {"POST", "/status/x"},
}

// TestSecurityHeadersEverywhere: every answer of the listener, on every
// route, to local and anonymous clients, errors included, carries the
// security headers, HSTS among them (the listener speaks HTTPS). Only the
// public documents (security.txt, the key) may be read cross-origin.
func TestSecurityHeadersEverywhere(t *testing.T) {
	d := startSurfaceDaemon(t)
	clients := append(d.anonymous(), struct{ base, via string }{d.local(), ""})
	want := map[string]string{
		"Content-Security-Policy":   "default-src 'none'; frame-ancestors 'none'",
		"Referrer-Policy":           "no-referrer",
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Strict-Transport-Security": "max-age=",
	}
	publicDocument := map[string]bool{"/.well-known/security.txt": true, "/security.txt": true, keyPath: true}
	check := func(what string, code int, h http.Header, cors bool) {
		t.Helper()
		if code == 0 {
			t.Errorf("%s: no answer", what)
			return
		}
		for k, v := range want {
			if !strings.Contains(h.Get(k), v) {
				t.Errorf("%s (%d): %s is %q", what, code, k, h.Get(k))
			}
		}
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") && !cors {
				t.Errorf("%s: %s", what, k)
			}
		}
	}
	for _, c := range clients {
		for _, r := range surfaceRoutes {
			code, h, _ := d.do(t, c.base, r.method, r.path, c.via, strings.NewReader(`{"body":"x"}`),
				map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"})
			check(r.method+" "+r.path+" "+c.via, code, h, publicDocument[r.path])
		}
	}
	code, h, _ := d.do(t, d.local(), "POST", "/report", "", bytes.NewReader(make([]byte, surfaceMaxBody+1)), nil)
	check("413", code, h, false)
}

// TestOversizedBodiesEverywhere: a body over max_body_size is 413 on every
// route, whatever its content type, declared or chunked; a body over the
// form's own lower limit is 413 at /report.
func TestOversizedBodiesEverywhere(t *testing.T) {
	d := startSurfaceDaemon(t)
	bodies := func(n int) map[string][]byte {
		fill := strings.Repeat("x", n)
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		mw.WriteField("body", fill)
		mw.Close()
		return map[string][]byte{
			"application/x-www-form-urlencoded": []byte(url.Values{"body": {fill}}.Encode()),
			mw.FormDataContentType():            mp.Bytes(),
			"application/json":                  []byte(`{"body":"` + fill + `"}`),
			"application/octet-stream":          []byte(fill),
		}
	}
	send := func(path, method, ctype string, body []byte, chunked bool) int {
		var r io.Reader = bytes.NewReader(body)
		if chunked {
			r = io.MultiReader(r) // no length: Transfer-Encoding: chunked
		}
		code, _, errText := d.do(t, d.local(), method, path, "", r, map[string]string{"Content-Type": ctype})
		if code == 0 {
			t.Log(errText)
		}
		return code
	}
	for ctype, body := range bodies(surfaceMaxBody + 1) {
		for _, r := range surfaceRoutes {
			for _, chunked := range []bool{false, true} {
				if code := send(r.path, r.method, ctype, body, chunked); code != http.StatusRequestEntityTooLarge {
					t.Errorf("%s %s, %s, chunked %v: %d", r.method, r.path, ctype, chunked, code)
				}
			}
		}
	}
	for ctype, body := range bodies(surfaceFormMax + 1) {
		for _, chunked := range []bool{false, true} {
			for _, path := range []string{"/report", "/report/send", "/status/x"} {
				if code := send(path, "POST", ctype, body, chunked); code != http.StatusRequestEntityTooLarge {
					t.Errorf("%s over the form's limit, %s, chunked %v: %d", path, ctype, chunked, code)
				}
			}
		}
	}
}
