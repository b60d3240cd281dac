package config

import (
	"strings"
	"testing"
	"time"
)

func TestServerOptions(t *testing.T) {
	cfg, err := Parse([]byte(minimal+`
[server]
listen = "127.0.0.1:8080"
tls_cert_file = "cert.pem"
tls_key_file = "key.pem"
trusted_proxies = ["10.0.0.0/8", "::1"]
max_body_size = "4MiB"
metrics_listen = "127.0.0.1:9090"
outbox_stuck_after = "30m"
`), "s.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sv := cfg.Server
	if !sv.TLS() || sv.MaxBodySize != 4<<20 || sv.MetricsListen != "127.0.0.1:9090" || sv.OutboxStuckAfter.Duration != 30*time.Minute ||
		len(cfg.TrustedProxies()) != 2 || len(cfg.Warnings()) != 0 {
		t.Fatalf("server = %+v", sv)
	}

	// Defaults.
	cfg, _ = Parse([]byte(minimal), "d.toml")
	if cfg.Server.MaxBodySize != 2<<20 || cfg.Server.OutboxStuckAfter.Duration != 15*time.Minute || cfg.Server.TLS() {
		t.Fatalf("defaults = %+v", cfg.Server)
	}

	cfg, err = Parse([]byte(minimal+`
[server]
listen = "127.0.0.1:8080"
tls_cert_file = "cert.pem"
trusted_proxies = ["10.0.0.0/8", "proxy"]
max_body_size = "512KiB"
metrics_listen = "127.0.0.1:8080"
outbox_stuck_after = "10s"

[intake]
form_trusted_proxies = ["127.0.0.1"]
`), "b.toml")
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{
		"b.toml:13: server.tls_key_file: required with tls_cert_file",
		`b.toml:16: server.trusted_proxies: entry 2, "proxy"`,
		"b.toml:17: server.max_body_size: 512KiB is below intake.form_max_size (1MiB)",
		"b.toml:18: server.metrics_listen: is the same as server.listen",
		"b.toml:19: server.outbox_stuck_after: must be at least 1m",
		"b.toml:22: intake.form_trusted_proxies: is replaced by server.trusted_proxies",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// TestFormTrustedProxiesIsADeprecatedAlias keeps configs written for the
// form's own setting working: the value applies to the listener and a
// warning names the new key.
func TestFormTrustedProxiesIsADeprecatedAlias(t *testing.T) {
	cfg, err := Parse([]byte(minimal+`
[intake]
form_trusted_proxies = ["192.0.2.1"]
`), "a.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.TrustedProxies(); len(got) != 1 || got[0] != "192.0.2.1" {
		t.Fatalf("TrustedProxies = %v", got)
	}
	w := cfg.Warnings()
	if len(w) != 1 || !strings.Contains(w[0].String(), "a.toml:14: intake.form_trusted_proxies: deprecated: rename it to trusted_proxies under [server]") {
		t.Fatalf("warnings = %v", w)
	}
}
