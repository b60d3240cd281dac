package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// MattermostConfig is the [mattermost] section. The adapter runs when url
// is set.
type MattermostConfig struct {
	URL string `toml:"url"` // the server, e.g. https://chat.example.org

	// The bot account's access token: from this file, or else from the
	// environment variable named by token_env.
	TokenFile string `toml:"token_file"`
	TokenEnv  string `toml:"token_env"`

	Team          string `toml:"team"`           // the team's name (as in its URL), not its display name
	TriageChannel string `toml:"triage_channel"` // a private channel's name in that team

	// ChannelPerIncident makes a private channel for each new incident,
	// with the assignee, the manager and the officers in it.
	ChannelPerIncident bool   `toml:"channel_per_incident"`
	ChannelPrefix      string `toml:"channel_prefix"` // incident channels are named prefix + id

	// The slash command: its trigger and the token Mattermost sends with
	// each call (from a file, or else the environment).
	Trigger        string `toml:"trigger"`
	SlashTokenFile string `toml:"slash_token_file"`
	SlashTokenEnv  string `toml:"slash_token_env"`

	// The key that signs button callbacks (at least 16 bytes).
	ButtonSecretFile string   `toml:"button_secret_file"`
	ButtonSecretEnv  string   `toml:"button_secret_env"`
	ButtonTTL        Duration `toml:"button_ttl"` // how long a button stays valid; refreshed on every update

	// TrustedMembers are usernames that may be in the private channels
	// without being declared in [[people]] (a system admin, another bot).
	// Any other member stops report content from being posted there.
	TrustedMembers []string `toml:"trusted_members"`

	// MaxPosts is how many posts one message may take before a long report
	// is attached as a file instead.
	MaxPosts int `toml:"max_posts"`

	// RequestTimeout bounds every API call.
	RequestTimeout Duration `toml:"request_timeout"`
}

// Enabled reports whether the Mattermost adapter is configured.
func (m MattermostConfig) Enabled() bool { return m.URL != "" }

func defaultMattermost() MattermostConfig {
	return MattermostConfig{
		TokenEnv:        "SECTRIAGE_MATTERMOST_TOKEN",
		ChannelPrefix:   "sec-",
		Trigger:         "sec",
		SlashTokenEnv:   "SECTRIAGE_MATTERMOST_SLASH_TOKEN",
		ButtonSecretEnv: "SECTRIAGE_MATTERMOST_BUTTON_SECRET",
		ButtonTTL:       Duration{30 * 24 * time.Hour},
		MaxPosts:        4,
		RequestTimeout:  Duration{15 * time.Second},
	}
}

var (
	// Team and channel names as Mattermost allows them in URLs.
	mmNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_\-]{0,63}$`)
	mmTriggerRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,128}$`)
)

func (c *Config) validateMattermost(s *problemSink) {
	m := c.Mattermost
	if !m.Enabled() {
		if m.Team != "" || m.TriageChannel != "" || m.TokenFile != "" {
			s.add("mattermost.url", "required when [mattermost] is configured: the server's URL")
		}
		return
	}
	if err := checkHTTPURL(m.URL); err != "" {
		s.add("mattermost.url", "%s", err)
	}
	if m.TokenFile == "" && m.TokenEnv == "" {
		s.add("mattermost.token_file", "required (or token_env): the bot account's access token")
	}
	if m.Team == "" {
		s.add("mattermost.team", "required: the team's name as in its URL")
	} else if !mmNameRE.MatchString(m.Team) {
		s.add("mattermost.team", "%q is not a team name (lower-case letters, digits, '-', '_'; the name in the URL, not the display name)", m.Team)
	}
	if m.TriageChannel == "" {
		s.add("mattermost.triage_channel", "required: a private channel of the team, with the bot in it")
	} else if !mmNameRE.MatchString(strings.TrimPrefix(m.TriageChannel, "~")) {
		s.add("mattermost.triage_channel", "%q is not a channel name (the name in the URL, not the display name)", m.TriageChannel)
	}
	if m.ChannelPrefix == "" || !mmNameRE.MatchString(m.ChannelPrefix+"1") {
		s.add("mattermost.channel_prefix", "%q: incident channel names are this plus the id, so use lower-case letters, digits, '-' or '_'", m.ChannelPrefix)
	}
	if !mmTriggerRE.MatchString(m.Trigger) {
		s.add("mattermost.trigger", "%q is not a slash command trigger (letters, digits, '.', '_', '-'; without the slash)", m.Trigger)
	}
	if m.SlashTokenFile == "" && m.SlashTokenEnv == "" {
		s.add("mattermost.slash_token_file", "required (or slash_token_env): the token Mattermost shows when the slash command is made")
	}
	if m.ButtonSecretFile == "" && m.ButtonSecretEnv == "" {
		s.add("mattermost.button_secret_file", "required (or button_secret_env): the key that signs button callbacks")
	}
	if m.ButtonTTL.Duration < time.Hour {
		s.add("mattermost.button_ttl", "must be at least 1h")
	}
	if m.MaxPosts < 1 || m.MaxPosts > 20 {
		s.add("mattermost.max_posts", "must be between 1 and 20, not %d", m.MaxPosts)
	}
	if m.RequestTimeout.Duration < time.Second || m.RequestTimeout.Duration > 5*time.Minute {
		s.add("mattermost.request_timeout", "must be between 1s and 5m")
	}
	for i, u := range m.TrustedMembers {
		if !mmUserRE.MatchString(strings.TrimPrefix(u, "@")) {
			s.add(fmt.Sprintf("mattermost.trusted_members[%d]", i+1), "%q is not a Mattermost username", u)
		}
	}
	// Mattermost calls the slash command and the buttons back.
	if !c.Server.Enabled() {
		s.add("server.listen", "required with [mattermost]: slash commands and buttons call this listener")
	}
	if c.Server.PublicURL == "" {
		s.add("server.public_url", "required with [mattermost]: the URL Mattermost calls back (slash command, buttons)")
	}
}
