package config

import (
	"strings"
	"testing"
)

// TestPublicationConfig checks the example's [publication] and [policy]
// and that each broken value is named by its key.
func TestPublicationConfig(t *testing.T) {
	cfg, err := Load("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	site, policy := cfg.PublicationSettings("0123456789ABCDEF0123456789ABCDEF01234567")
	if site.BaseURL != "https://security.example.org" || site.OSVPrefix != "x_EXAMPLE-" || policy.Mail != "security@example.org" ||
		policy.Deadlines.Acknowledge != cfg.Policy().Acknowledge {
		t.Fatalf("settings %+v, policy %+v", site, policy)
	}
	if p := cfg.publicationPolicy(); p.Approvals != 2 || p.BaseURL != site.BaseURL {
		t.Fatalf("service policy %+v", p)
	}
	for _, c := range []struct {
		name, key string
		change    func(c *Config)
	}{
		{"approvals", "publication.approvals", func(c *Config) { c.Publication.Approvals = 11 }},
		{"no policy", "policy", func(c *Config) { c.PolicyPage = nil }},
		{"policy without publication", "policy", func(c *Config) { c.Publication = nil }},
		{"prefix", "publication", func(c *Config) { c.Publication.OSVPrefix = "EXAMPLE" }},
		{"base url", "publication", func(c *Config) { c.Publication.BaseURL = "ftp://x" }},
		{"no vendor", "publication", func(c *Config) { c.Publication.Vendor = "" }},
		{"list address", "publication.lists", func(c *Config) { c.Publication.Lists = []string{"Announce <a@example.org>"} }},
		// What the mailer refuses is refused here: no dot in the domain.
		{"list address the mailer refuses", "publication.lists", func(c *Config) { c.Publication.Lists = []string{"announce@localhost"} }},
		{"distros address", "publication.distros_list", func(c *Config) { c.Publication.DistrosList = "distros@@example.org" }},
		{"no smtp", "publication.lists", func(c *Config) { c.Email.SMTP = nil }},
		{"no scope", "policy", func(c *Config) { c.PolicyPage.Scope = " " }},
		{"distros without known keys", "publication.distros_list", func(c *Config) {
			c.Publication.DistrosList = "distros@example.org"
			c.Keys.KnownKeysDir = ""
		}},
	} {
		cfg, err := Load("../config.example.toml")
		if err != nil {
			t.Fatal(err)
		}
		c.change(cfg)
		err = cfg.Validate()
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		found := false
		for _, p := range err.(Problems) {
			found = found || p.Key == c.key
		}
		if !found {
			t.Errorf("%s: no problem at %s: %v", c.name, c.key, err)
		}
	}
	if !strings.Contains(cfg.publicationBaseURL(), "security.example.org") {
		t.Error(cfg.publicationBaseURL())
	}
}
