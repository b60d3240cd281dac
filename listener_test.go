package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 named cn,
// valid for validFor, as cert.pem and key.pem in dir, and returns a pool
// that trusts it.
func writeCert(t *testing.T, dir, cn string, validFor time.Duration) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(validFor),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cert.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, "key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pool
}

// TestListener runs the daemon with HTTPS on its listener and metrics on
// an address of their own: the body cap answers 413, the form's rate limit
// sees the client behind a trusted proxy, /metrics is only where it was
// put, and a reload serves a renewed certificate on the same listener.
func TestListener(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	cfg, _ := intakeConfig(t, `
[server]
listen = "`+addr+`"
public_url = "https://`+addr+`"
tls_cert_file = "cert.pem"
tls_key_file = "key.pem"
trusted_proxies = ["127.0.0.1"]
max_body_size = "64KiB"
metrics_listen = "`+metricsAddr+`"

[intake]
form_max_size = "32KiB"
form_rate_limit = 1
`)
	dir := filepath.Dir(cfg)
	first := writeCert(t, dir, "first", 90*24*time.Hour)

	code, out, _ := runCLI(t, "", "check", "-config", cfg)
	wantOnlyErrors(t, code, out, nobodyTold, "[intake] acknowledge is on")
	if !strings.Contains(out, "ok:      server certificate for 127.0.0.1, valid until") ||
		!strings.Contains(out, "ok:      listener https://"+addr+": reports (/report), the public key, /healthz, /readyz (bare status); /metrics and readiness details on "+metricsAddr+"; trusted proxies: 127.0.0.1; bodies up to 64KiB") {
		t.Fatalf("check: exit %d\n%s", code, out)
	}

	errOut := &syncBuffer{}
	reload := make(chan os.Signal, 1)
	startDaemon(t, cfg, errOut, reload)
	client := func(pool *x509.CertPool) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	https := client(first)
	base := "https://" + addr

	post := func(body string, forwardedFor string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/report", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		resp, err := https.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"body":"`+strings.Repeat("a", 100<<10)+`"}`, ""); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over max_body_size: %d", code)
	}
	if code := post(`{"body":"`+strings.Repeat("a", 40<<10)+`"}`, ""); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over form_max_size: %d", code)
	}
	// One report per client: the client is the one the trusted proxy names.
	if code := post(`{"body":"one"}`, "203.0.113.7"); code != http.StatusCreated {
		t.Errorf("first report from 203.0.113.7: %d", code)
	}
	if code := post(`{"body":"two"}`, "203.0.113.7"); code != http.StatusTooManyRequests {
		t.Errorf("second report from 203.0.113.7: %d", code)
	}
	if code := post(`{"body":"three"}`, "203.0.113.8"); code != http.StatusCreated {
		t.Errorf("first report from 203.0.113.8: %d", code)
	}

	get := func(c *http.Client, url string) (int, string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(https, base+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the main listener with metrics_listen set: %d", code)
	}
	if code, body := get(http.DefaultClient, "http://"+metricsAddr+"/metrics"); code != http.StatusOK || !strings.Contains(body, `sectriage_reports_received_total{source="web"} 2`) {
		t.Errorf("/metrics on metrics_listen: %d\n%s", code, body)
	}
	if code, body := get(http.DefaultClient, "http://"+metricsAddr+"/readyz"); code != http.StatusOK || !strings.Contains(body, "ok   database") {
		t.Errorf("/readyz on metrics_listen: %d %s", code, body)
	}
	if code, body := get(https, base+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz on the main listener with metrics_listen set: %d %q, want the bare status", code, body)
	}

	// A renewed certificate, then a reload: served from the next handshake.
	second := writeCert(t, dir, "second", 90*24*time.Hour)
	reload <- syscall.SIGHUP
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errOut.String(), "configuration reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the log
	}
	if code, _ := get(client(second), base+"/healthz"); code != http.StatusOK {
		t.Errorf("the renewed certificate is not served")
	}
	// A broken pair is refused and the renewed one stays.
	writeFile(t, filepath.Join(dir, "key.pem"), "not a key")
	reload <- syscall.SIGHUP
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(errOut.String(), "config reload refused") {
		if time.Now().After(deadline) {
			t.Fatalf("the broken key was not refused:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the log
	}
	if code, _ := get(client(second), base+"/healthz"); code != http.StatusOK {
		t.Errorf("a refused reload changed the certificate")
	}
}
