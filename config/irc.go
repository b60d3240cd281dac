package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// IRCConfig is the [irc] section: the bot's IRC network, identity and
// private triage channel. The section's presence turns IRC on.
type IRCConfig struct {
	Server string `toml:"server"` // host:port
	TLS    bool   `toml:"tls"`
	// CAFile, when set, holds the only CA certificates trusted for the
	// server (PEM); else the system's roots.
	CAFile string `toml:"ca_file"`
	// Pin is the SHA-256 of the server's certificate; with it the
	// certificate must match (a self-signed server needs no CA).
	Pin string `toml:"pin"`

	Nick               string   `toml:"nick"`
	AltNicks           []string `toml:"alt_nicks"`
	User               string   `toml:"user"`
	RealName           string   `toml:"realname"`
	ServerPasswordFile string   `toml:"server_password_file"`
	ServerPasswordEnv  string   `toml:"server_password_env"`

	SASL          IRCSASLConfig    `toml:"sasl"`
	TriageChannel IRCChannelConfig `toml:"triage_channel"`

	Prefix       string             `toml:"prefix"`
	ManageModes  bool               `toml:"manage_modes"`
	Rate         IRCRateConfig      `toml:"rate"`
	MaxBodyLines int                `toml:"max_body_lines"`
	FullReport   string             `toml:"full_report"`
	Reconnect    IRCReconnectConfig `toml:"reconnect"`

	// ChannelPerIncident gives each new incident its own channel, named
	// from IncidentChannel: "{id}" is the incident number, "{random}"
	// eight random letters (a name nobody can guess and take first).
	ChannelPerIncident bool   `toml:"channel_per_incident"`
	IncidentChannel    string `toml:"incident_channel"`
	// TrustedMembers are services accounts that may be in the private
	// channels besides [[people]] and the bot (a logging bot with its own
	// account): by account, never by nick.
	TrustedMembers []string `toml:"trusted_members"`
}

// IRCSASLConfig is how the bot logs in to its services account.
type IRCSASLConfig struct {
	Mechanism    string `toml:"mechanism"` // PLAIN or EXTERNAL; empty: no SASL
	Account      string `toml:"account"`
	PasswordFile string `toml:"password_file"` // PLAIN
	PasswordEnv  string `toml:"password_env"`
	CertFile     string `toml:"cert_file"` // EXTERNAL: the client certificate (PEM)
	KeyFile      string `toml:"key_file"`
}

// IRCChannelConfig is a channel and where its key is.
type IRCChannelConfig struct {
	Name    string `toml:"name"`
	KeyFile string `toml:"key_file"`
	KeyEnv  string `toml:"key_env"`
}

// IRCRateConfig is the send rate: burst lines at once, then one per PerLine.
type IRCRateConfig struct {
	Burst   int      `toml:"burst"`
	PerLine Duration `toml:"per_line"`
}

// IRCReconnectConfig bounds the delay between connection attempts.
type IRCReconnectConfig struct {
	Min Duration `toml:"min"`
	Max Duration `toml:"max"`
}

// Where a cut report body is read in full: on Mattermost when the desk
// has it; on an IRC-only desk, every IRC reply is cut alike, so only the
// command line on the sectriage host shows it all.
const (
	FullReportMattermost = "/sec show {id} in Mattermost"
	FullReportHost       = "sectriage cmd -as YOU -- show {id} on the sectriage host"
)

func defaultIRC() IRCConfig {
	return IRCConfig{
		TLS: true, Nick: "sectriage", Prefix: "!",
		Rate:            IRCRateConfig{Burst: 4, PerLine: Duration{2 * time.Second}},
		MaxBodyLines:    25,
		FullReport:      FullReportMattermost, // parse picks FullReportHost without [mattermost]
		Reconnect:       IRCReconnectConfig{Min: Duration{2 * time.Second}, Max: Duration{5 * time.Minute}},
		IncidentChannel: "#sec-{id}",
	}
}

// IRCEnabled reports whether the file has an [irc] section.
func (c *Config) IRCEnabled() bool { return c.ircDefined }

var (
	ircNickRE    = regexp.MustCompile(`^[A-Za-z\[\]\\` + "`" + `_^{|}][A-Za-z0-9\[\]\\` + "`" + `_^{|}\-]{0,29}$`)
	ircUserRE    = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,10}$`)
	ircChannelRE = regexp.MustCompile(`^[#&][^\x00-\x20,:\x7f]{1,49}$`)
	ircKeyRE     = regexp.MustCompile(`^[^\x00-\x20,:\x7f]{1,23}$`)
)

func (c *Config) validateIRC(s *problemSink) {
	if !c.IRCEnabled() {
		return
	}
	r := c.IRC
	host, port, err := net.SplitHostPort(r.Server)
	if n, perr := strconv.Atoi(port); r.Server == "" {
		s.add("irc.server", "required: host:port, e.g. irc.libera.chat:6697")
	} else if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		s.add("irc.server", "%q: write host:port, e.g. irc.libera.chat:6697", r.Server)
	}
	loopback := host == "localhost" || net.ParseIP(host).IsLoopback()
	if !r.TLS {
		if r.CAFile != "" || r.Pin != "" {
			s.add("irc.tls", "ca_file and pin apply only with tls = true")
		}
		if strings.EqualFold(r.SASL.Mechanism, "PLAIN") && !loopback {
			s.add("irc.tls", "SASL PLAIN without TLS would send the password in clear; set tls = true")
		}
	}
	if r.Pin != "" {
		h := strings.NewReplacer(":", "", " ", "").Replace(strings.TrimPrefix(strings.ToLower(r.Pin), "sha256:"))
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
			s.add("irc.pin", "the SHA-256 of the server certificate: 64 hex digits (colons allowed)")
		}
	}
	if !ircNickRE.MatchString(r.Nick) {
		s.add("irc.nick", "%q is not a valid IRC nick", r.Nick)
	}
	for i, n := range r.AltNicks {
		if !ircNickRE.MatchString(n) {
			s.add("irc.alt_nicks", "alt_nicks[%d] %q is not a valid IRC nick", i+1, n)
		}
	}
	if r.User != "" && !ircUserRE.MatchString(r.User) {
		s.add("irc.user", "%q: up to 10 letters, digits, '.', '_' or '-'", r.User)
	}
	if strings.ContainsAny(r.RealName, "\r\n\x00") {
		s.add("irc.realname", "must be one line")
	}
	for i, acct := range r.TrustedMembers {
		// Services account names: one word, no wildcard (never a nick mask).
		if acct == "" || strings.ContainsAny(acct, " ,*?!@:\r\n\x00") {
			s.add(fmt.Sprintf("irc.trusted_members[%d]", i+1), "%q is not a services account name", acct)
		}
	}
	switch strings.ToUpper(r.SASL.Mechanism) {
	case "":
		if r.SASL.Account != "" || r.SASL.PasswordFile != "" || r.SASL.PasswordEnv != "" {
			s.add("irc.sasl.mechanism", "required with the other sasl settings: PLAIN or EXTERNAL")
		}
	case "PLAIN":
		if !ircAccountRE.MatchString(r.SASL.Account) {
			s.add("irc.sasl.account", "required for PLAIN: the bot's services account")
		}
		if r.SASL.PasswordFile == "" && r.SASL.PasswordEnv == "" {
			s.add("irc.sasl.password_file", "required for PLAIN (or password_env)")
		}
	case "EXTERNAL":
		if !r.TLS {
			s.add("irc.sasl.mechanism", "EXTERNAL logs in with the TLS client certificate: set tls = true")
		}
		if r.SASL.CertFile == "" || r.SASL.KeyFile == "" {
			s.add("irc.sasl.cert_file", "EXTERNAL needs cert_file and key_file (PEM)")
		}
	default:
		s.add("irc.sasl.mechanism", "must be PLAIN or EXTERNAL, not %q", r.SASL.Mechanism)
	}
	if !ircChannelRE.MatchString(r.TriageChannel.Name) {
		s.add("irc.triage_channel.name", "required: a channel such as #example-security")
	}
	if r.ManageModes && r.TriageChannel.KeyFile == "" && r.TriageChannel.KeyEnv == "" {
		// +i alone locks the bot out after a reconnect unless ChanServ
		// invites it; a key lets it back in.
		s.add("irc.manage_modes", "needs triage_channel.key_file (or key_env): the bot sets +k with it and uses it to rejoin")
	}
	if r.Prefix == "" || len(r.Prefix) > 3 || strings.ContainsAny(r.Prefix, " \t\r\n\x00") {
		s.add("irc.prefix", "1 to 3 characters without spaces, e.g. \"!\"")
	}
	if r.Rate.Burst < 1 || r.Rate.Burst > 10 {
		s.add("irc.rate.burst", "must be 1 to 10 lines")
	}
	if r.Rate.PerLine.Duration < time.Second || r.Rate.PerLine.Duration > time.Minute {
		s.add("irc.rate.per_line", "must be between 1s and 1m: networks disconnect bots that send more than about a line a second")
	}
	if r.MaxBodyLines < 0 || r.MaxBodyLines > 1000 {
		s.add("irc.max_body_lines", "must be 0 (no report body on IRC) to 1000")
	}
	if strings.ContainsAny(r.FullReport, "\r\n\x00") {
		s.add("irc.full_report", "must be one line")
	}
	if r.ChannelPerIncident {
		sample := strings.NewReplacer("{id}", "123456", "{random}", "abcdefgh").Replace(r.IncidentChannel)
		if !strings.Contains(r.IncidentChannel, "{id}") && !strings.Contains(r.IncidentChannel, "{random}") || !ircChannelRE.MatchString(sample) {
			s.add("irc.incident_channel", "%q: a channel name with {id} or {random}, e.g. \"#sec-{id}\"", r.IncidentChannel)
		}
	}
	if r.Reconnect.Max.Duration < r.Reconnect.Min.Duration {
		s.add("irc.reconnect.max", "must not be shorter than reconnect.min")
	}
}

// ValidIRCKey reports whether a channel key read from its file can be used
// on a JOIN line.
func ValidIRCKey(k string) bool { return ircKeyRE.MatchString(k) }
