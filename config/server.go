package config

import (
	"net"
	"net/url"
	"strings"
)

// ServerConfig is the [server] section: the HTTP listener for the report
// form, security.txt and the team's public key.
type ServerConfig struct {
	Listen    string `toml:"listen"`     // host:port; empty: no listener
	PublicURL string `toml:"public_url"` // how the world reaches it, https://...
}

func (c *Config) validateServer(s *problemSink) {
	if l := c.Server.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			s.add("server.listen", "%q is not host:port, e.g. 127.0.0.1:8080", l)
		}
	}
	if u := c.Server.PublicURL; u != "" {
		if p, err := url.Parse(u); err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
			s.add("server.public_url", "%q is not an http(s) URL", u)
		} else if p.Scheme == "http" && !isLoopback(p.Hostname()) {
			s.add("server.public_url", "must be https: reporters send reports there")
		}
	}
}

// PublicURL returns the public URL without a trailing slash.
func (c *Config) PublicURL() string { return strings.TrimRight(c.Server.PublicURL, "/") }
