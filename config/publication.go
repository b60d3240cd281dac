package config

import (
	"strings"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/header"
	"github.com/sectriage/sectriage/publish"
)

// PublicationConfig is the [publication] section: what publishing an
// advisory requires and produces. Without it the advisory commands still
// draft and review, but publish now says publication is not configured.
type PublicationConfig struct {
	// Approvals is how many team members approve the text and the patch
	// (each; at least one officer). 0 means the default, 2.
	Approvals  int  `toml:"approvals"`
	RequireCVE bool `toml:"require_cve"`
	// BaseURL is where the pages are served; default [server] public_url.
	BaseURL   string `toml:"base_url"`
	OutputDir string `toml:"output_dir"` // static copy of the pages; empty: none
	// Lists get the clearsigned announcement through [email.smtp].
	Lists        []string `toml:"lists"`
	Vendor       string   `toml:"vendor"`
	Project      string   `toml:"project"`
	OSVPrefix    string   `toml:"osv_prefix"`
	CNAOrgID     string   `toml:"cna_org_id"`
	CNAShortName string   `toml:"cna_short_name"`
	// DistrosList is the pre-notification list (e.g.
	// linux-distros@vs.openwall.org); its key must be in known_keys_dir.
	DistrosList string `toml:"distros_list"`
}

// PolicyConfig is the [policy] section: the security policy page.
type PolicyConfig struct {
	Scope      string `toml:"scope"`      // what the policy covers (paragraphs)
	Disclosure string `toml:"disclosure"` // embargo and disclosure policy (paragraphs)
	// Mail defaults to [email.smtp] from.
	Mail    string `toml:"mail"`
	FormURL string `toml:"form_url"`
	KeyURL  string `toml:"key_url"`
}

// PublicationSettings are the publish package's settings from
// [publication] and [policy]; fingerprint is the team key's.
func (c *Config) PublicationSettings(fingerprint string) (publish.Settings, publish.Policy) {
	p := c.Publication
	if p == nil {
		return publish.Settings{}, publish.Policy{}
	}
	s := publish.Settings{Vendor: p.Vendor, Project: p.Project, BaseURL: c.publicationBaseURL(),
		OSVPrefix: p.OSVPrefix, CNAOrgID: p.CNAOrgID, CNAShortName: p.CNAShortName}
	var pol publish.Policy
	if pp := c.PolicyPage; pp != nil {
		pol = publish.Policy{Scope: pp.Scope, Disclosure: pp.Disclosure, Mail: pp.Mail, FormURL: pp.FormURL,
			KeyURL: pp.KeyURL, KeyFingerprint: fingerprint, Deadlines: c.Policy()}
		if pol.Mail == "" && c.Email.SMTP != nil {
			pol.Mail = c.Email.SMTP.From
		}
	}
	return s, pol
}

func (c *Config) publicationBaseURL() string {
	if c.Publication != nil && c.Publication.BaseURL != "" {
		return strings.TrimRight(c.Publication.BaseURL, "/")
	}
	return c.PublicURL()
}

// publicationPolicy is what the service checks before publishing.
func (c *Config) publicationPolicy() bot.PublicationPolicy {
	p := c.Publication
	if p == nil {
		return bot.PublicationPolicy{}
	}
	return bot.PublicationPolicy{Approvals: p.Approvals, RequireCVE: p.RequireCVE, BaseURL: c.publicationBaseURL(), DistrosList: p.DistrosList}
}

func (c *Config) validatePublication(s *problemSink) {
	p := c.Publication
	if p == nil {
		if c.PolicyPage != nil {
			s.add("policy", "the policy page is published with the advisories: add a [publication] section")
		}
		return
	}
	if p.Approvals != 0 {
		if err := (bot.PublicationPolicy{Approvals: p.Approvals}).Validate(); err != nil {
			s.add("publication.approvals", "%v", err)
		}
	}
	if c.PolicyPage == nil {
		s.add("policy", "required with [publication]: the /security/ page needs scope and disclosure texts")
	}
	if c.publicationBaseURL() == "" {
		s.add("publication.base_url", "required (or set [server] public_url): where the advisories are served")
	}
	settings, policy := c.PublicationSettings("")
	if err := settings.Validate(); err != nil {
		s.add("publication", "%s", strings.TrimPrefix(err.Error(), "publication: "))
	}
	if c.PolicyPage != nil {
		if err := policy.Validate(); err != nil {
			s.add("policy", "%s", strings.TrimPrefix(err.Error(), "policy: "))
		}
	}
	// The mailer's own check (package header), so that no address passes
	// here and is refused at publication.
	for _, addr := range p.Lists {
		if _, err := header.Address(addr); err != nil {
			s.add("publication.lists", "%q: %v", addr, err)
		}
	}
	if p.DistrosList != "" {
		if _, err := header.Address(p.DistrosList); err != nil {
			s.add("publication.distros_list", "%q: %v", p.DistrosList, err)
		}
	}
	if (len(p.Lists) > 0 || p.DistrosList != "") && c.Email.SMTP == nil {
		s.add("publication.lists", "mailing the lists needs an outgoing mail server: configure [email.smtp]")
	}
	if (len(p.Lists) > 0 || p.DistrosList != "") && c.Keys.TeamKeyFile == "" {
		s.add("publication.lists", "announcements are signed with the team key: set [keys] team_key_file")
	}
	if p.DistrosList != "" && c.Keys.KnownKeysDir == "" {
		s.add("publication.distros_list", "the list's public key must be in [keys] known_keys_dir")
	}
}
