package config

import (
	"net"
	"net/url"
	"strings"
)

// ServerConfig is the [server] section: the HTTP listener that chat
// platforms call back (Mattermost slash commands and buttons) and, later,
// the report form and health checks.
type ServerConfig struct {
	// Listen is host:port; empty means no listener.
	Listen string `toml:"listen"`
	// PublicURL is how Mattermost (or a reverse proxy in front of
	// sectriage) reaches the listener: the base of the callback URLs.
	PublicURL string `toml:"public_url"`
}

// Enabled reports whether the listener is configured.
func (s ServerConfig) Enabled() bool { return s.Listen != "" }

func (c *Config) validateServer(s *problemSink) {
	if c.Server.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Server.Listen); err != nil || port == "" {
			s.add("server.listen", "%q is not host:port (e.g. 127.0.0.1:8080)", c.Server.Listen)
		}
	}
	if c.Server.PublicURL != "" {
		if err := checkHTTPURL(c.Server.PublicURL); err != "" {
			s.add("server.public_url", "%s", err)
		}
	}
}

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
