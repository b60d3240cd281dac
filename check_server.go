package main

import (
	"crypto/x509"
	"strings"
	"time"

	"github.com/sectriage/sectriage/config"
)

// certExpiryWarning is how long before its end the listener's certificate
// is warned about.
const certExpiryWarning = 30 * 24 * time.Hour

// checkServer checks the listener's settings that validation cannot: the
// certificate pair loads, matches, and is not about to expire; and says
// where health and metrics are served.
func checkServer(c *checker, cfg *config.Config, now time.Time) {
	sv := cfg.Server
	if !sv.Enabled() && sv.MetricsListen == "" {
		return
	}
	scheme := "http"
	if sv.TLS() {
		scheme = "https"
		cert, err := loadCertificate(cfg)
		if err != nil {
			c.fail("%v (both PEM files, the key matching the certificate)", err)
			return
		}
		leaf, err := x509.ParseCertificate(cert.current.Load().Certificate[0])
		if err != nil {
			c.fail("server.tls_cert_file: %v", err)
			return
		}
		names := strings.Join(append(leaf.DNSNames, ipStrings(leaf)...), ", ")
		switch left := leaf.NotAfter.Sub(now); {
		case left <= 0:
			c.fail("server certificate (%s) expired on %s: renew it, then reload (SIGHUP)", names, leaf.NotAfter.Format(time.DateOnly))
		case left < certExpiryWarning:
			c.warn("server certificate (%s) expires on %s, in %d days: renew it, then reload (SIGHUP)", names, leaf.NotAfter.Format(time.DateOnly), int(left.Hours()/24))
		default:
			c.ok("server certificate for %s, valid until %s", names, leaf.NotAfter.Format(time.DateOnly))
		}
	}
	if sv.Enabled() {
		where := " (bare status); /metrics and readiness details on " + sv.MetricsListen
		if sv.MetricsListen == "" {
			where = "; /metrics and readiness details to local clients only"
		}
		c.ok("listener %s://%s: %s/healthz, /readyz%s; trusted proxies: %s; bodies up to %s",
			scheme, sv.Listen, servedRoutes(cfg), where, orNone(cfg.TrustedProxies()), sv.MaxBodySize)
	} else {
		c.ok("no main listener; /metrics, /healthz and /readyz on %s", sv.MetricsListen)
	}
}

func ipStrings(cert *x509.Certificate) []string {
	var out []string
	for _, ip := range cert.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// servedRoutes lists what the main listener serves besides health and
// metrics, as the daemon mounts it (intakeHandlers, cmdRun): the report
// side only with a team key, callbacks only for the platforms configured.
func servedRoutes(cfg *config.Config) string {
	var out []string
	if cfg.Keys.TeamKeyFile != "" {
		out = append(out, "reports (/report)")
		if cfg.SecurityTxt != nil {
			out = append(out, "security.txt")
		}
		out = append(out, "the public key")
	}
	if cfg.Mattermost.Enabled() {
		out = append(out, "Mattermost callbacks (/mattermost/)")
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, ", ") + ", "
}
