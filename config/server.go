package config

import (
	"net"
	"net/url"
	"strings"
)

// ServerConfig is the [server] section: the one HTTP listener for the
// Mattermost slash command and buttons, the report form, security.txt and
// the team's public key.
type ServerConfig struct {
	// Listen is host:port; empty means no listener.
	Listen string `toml:"listen"`
	// PublicURL is how Mattermost, reporters (or a reverse proxy in front
	// of sectriage) reach the listener: the base of every URL it hands out.
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
	if u := c.Server.PublicURL; u != "" {
		if err := checkHTTPURL(u); err != "" {
			s.add("server.public_url", "%s", err)
		} else if p, _ := url.Parse(u); p.Scheme == "http" && !isLoopback(p.Hostname()) {
			s.add("server.public_url", "must be https: reporters send reports there")
		}
	}
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
