package config

import (
	"net/url"
	"strings"
	"time"
)

// SecurityTxtConfig is the [security_txt] section: the RFC 9116 file
// served at /.well-known/security.txt, signed with the team key.
type SecurityTxtConfig struct {
	Contact []string `toml:"contact"` // mailto:, https: or tel: URIs, most preferred first
	Expires string   `toml:"expires"` // RFC 3339; `sectriage check` warns 30 days ahead
	// Encryption defaults to the team's public key served by sectriage
	// (<public_url>/pgp-key.asc); Canonical to <public_url>/.well-known/security.txt.
	Encryption         string   `toml:"encryption"`
	Canonical          string   `toml:"canonical"`
	Policy             string   `toml:"policy"`
	Acknowledgments    string   `toml:"acknowledgments"`
	PreferredLanguages []string `toml:"preferred_languages"`
}

// SecurityTxtExpiryWarning is how long before Expires `check` warns.
const SecurityTxtExpiryWarning = 30 * 24 * time.Hour

// ExpiresTime parses Expires.
func (c *SecurityTxtConfig) ExpiresTime() (time.Time, error) {
	return time.Parse(time.RFC3339, c.Expires)
}

func (c *Config) validateSecurityTxt(s *problemSink) {
	st := c.SecurityTxt
	if st == nil {
		return
	}
	if len(st.Contact) == 0 {
		s.add("security_txt.contact", "required: at least one mailto:, https: or tel: URI")
	}
	for _, ct := range st.Contact {
		if !strings.HasPrefix(ct, "mailto:") && !strings.HasPrefix(ct, "https://") && !strings.HasPrefix(ct, "tel:") {
			s.add("security_txt.contact", "%q must be a mailto:, https:// or tel: URI (RFC 9116 §2.5.3)", ct)
		}
	}
	if _, err := st.ExpiresTime(); err != nil {
		s.add("security_txt.expires", "required as an RFC 3339 time, e.g. 2027-06-30T00:00:00Z (RFC 9116 §2.5.5)")
	}
	for key, v := range map[string]string{"security_txt.encryption": st.Encryption, "security_txt.canonical": st.Canonical,
		"security_txt.policy": st.Policy, "security_txt.acknowledgments": st.Acknowledgments} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "openpgp4fpr" && u.Scheme != "dns") {
			s.add(key, "%q must be an https:// URI", v)
		}
	}
	if (st.Encryption == "" || st.Canonical == "") && c.Server.PublicURL == "" {
		s.add("security_txt", "set [server] public_url, or both encryption and canonical: they default to URLs on it")
	}
	if c.Server.Listen == "" {
		s.add("security_txt", "needs [server] listen: the file is served by sectriage's HTTP listener")
	}
	if c.Keys.TeamKeyFile == "" {
		s.add("security_txt", "needs [keys] team_key_file: the file is signed with the team key")
	}
}
