package config

import (
	"net"
	"net/url"
	"strings"
	"time"
)

// ServerConfig is the [server] section: the one HTTP listener for the
// Mattermost slash command and buttons, the report form, security.txt, the
// team's public key, health and metrics.
type ServerConfig struct {
	// Listen is host:port; empty means no listener.
	Listen string `toml:"listen"`
	// PublicURL is how Mattermost, reporters (or a reverse proxy in front
	// of sectriage) reach the listener: the base of every URL it hands out.
	PublicURL string `toml:"public_url"`
	// TLSCertFile and TLSKeyFile, both or neither, make the listener speak
	// HTTPS. The pair is read again on reload (SIGHUP), so a renewed
	// certificate needs no restart.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// TrustedProxies are the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For names the real client, for the rate limits; nobody
	// else's is believed.
	TrustedProxies []string `toml:"trusted_proxies"`
	// MaxBodySize caps every request body, whatever the handler; each
	// handler has its own, lower, limit too.
	MaxBodySize Size `toml:"max_body_size"`
	// MetricsListen, when set, serves /metrics (and /healthz, /readyz) on
	// an address of its own instead of the main listener, so they need not
	// be reachable from where reporters are.
	MetricsListen string `toml:"metrics_listen"`
	// OutboxStuckAfter is when /readyz calls the outbox stuck: its oldest
	// undelivered message is older than this, or a message was given up
	// within this time.
	OutboxStuckAfter Duration `toml:"outbox_stuck_after"`
}

func defaultServer() ServerConfig {
	return ServerConfig{MaxBodySize: 2 << 20, OutboxStuckAfter: Duration{15 * time.Minute}}
}

// Enabled reports whether the listener is configured.
func (s ServerConfig) Enabled() bool { return s.Listen != "" }

// TLS reports whether the listener serves HTTPS.
func (s ServerConfig) TLS() bool { return s.TLSCertFile != "" }

// TrustedProxies returns [server] trusted_proxies, or the deprecated
// [intake] form_trusted_proxies when only that is set.
func (c *Config) TrustedProxies() []string {
	if len(c.Server.TrustedProxies) > 0 {
		return c.Server.TrustedProxies
	}
	return c.Intake.FormTrustedProxies
}

func (c *Config) validateServer(s *problemSink) {
	sv := c.Server
	if sv.Listen != "" {
		checkListen(s, "server.listen", sv.Listen)
	}
	if sv.MetricsListen != "" {
		checkListen(s, "server.metrics_listen", sv.MetricsListen)
		if sv.MetricsListen == sv.Listen {
			s.add("server.metrics_listen", "is the same as server.listen; leave it empty to serve /metrics on the main listener")
		}
	}
	if u := sv.PublicURL; u != "" {
		if err := checkHTTPURL(u); err != "" {
			s.add("server.public_url", "%s", err)
		} else if p, _ := url.Parse(u); p.Scheme == "http" && !isLoopback(p.Hostname()) {
			s.add("server.public_url", "must be https: reporters send reports there")
		}
	}
	switch {
	case sv.TLSCertFile != "" && sv.TLSKeyFile == "":
		s.add("server.tls_key_file", "required with tls_cert_file: the certificate's private key (PEM)")
	case sv.TLSCertFile == "" && sv.TLSKeyFile != "":
		s.add("server.tls_cert_file", "required with tls_key_file: the certificate chain (PEM)")
	}
	if sv.MaxBodySize < 1024 {
		s.add("server.max_body_size", "must be at least 1KiB, e.g. 2MiB")
	} else if c.Intake.FormMaxSize > sv.MaxBodySize {
		s.add("server.max_body_size", "%s is below intake.form_max_size (%s): raise it, or the listener refuses reports the form would take",
			sv.MaxBodySize, c.Intake.FormMaxSize)
	}
	if sv.OutboxStuckAfter.Duration < time.Minute {
		s.add("server.outbox_stuck_after", "must be at least 1m, e.g. 15m")
	}
	if len(sv.TrustedProxies) > 0 && len(c.Intake.FormTrustedProxies) > 0 {
		s.add("intake.form_trusted_proxies", "is replaced by server.trusted_proxies, which is set too: delete this one")
	}
	checkNetworks(s, "server.trusted_proxies", sv.TrustedProxies)
	checkNetworks(s, "intake.form_trusted_proxies", c.Intake.FormTrustedProxies)
}

func checkListen(s *problemSink, key, addr string) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		s.add(key, "%q is not host:port (e.g. 127.0.0.1:8080)", addr)
	}
}

func checkNetworks(s *problemSink, key string, list []string) {
	for i, p := range list {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				s.add(key, "entry %d, %q, is neither an IP address nor a CIDR block", i+1, p)
			}
		}
	}
}

// Warnings are what is accepted but should change: deprecated keys. check
// prints them and the daemon logs them at start and on reload.
func (c *Config) Warnings() Problems {
	var ps Problems
	if len(c.Intake.FormTrustedProxies) > 0 && len(c.Server.TrustedProxies) == 0 {
		line := 0
		if c.loc != nil {
			line = c.loc.line("intake.form_trusted_proxies")
		}
		ps = append(ps, Problem{File: c.file, Line: line, Key: "intake.form_trusted_proxies",
			Msg: "deprecated: rename it to trusted_proxies under [server]; it applies to the whole listener now"})
	}
	return ps
}

// PublicURL returns the public URL without a trailing slash.
func (c *Config) PublicURL() string { return strings.TrimRight(c.Server.PublicURL, "/") }

// checkHTTPURL returns what is wrong with an absolute http(s) URL, or "".
func checkHTTPURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http:// or https:// URL, not " + quote(raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "must have no query, fragment or user info: " + quote(raw)
	}
	return ""
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
