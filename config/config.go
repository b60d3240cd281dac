// Package config reads sectriage.toml: typed sections decoded strictly (an
// unknown key, a wrong type or a missing required value is an error naming
// the key and line), defaults, validation, and the secrets that live in
// files or the environment rather than in the TOML.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// Config is the whole file. Each component receives only its own section.
type Config struct {
	// Timezone is the zone for times in shared channel posts; replies to a
	// person use that person's zone.
	Timezone  string          `toml:"timezone"`
	Storage   StorageConfig   `toml:"storage"`
	Log       LogConfig       `toml:"log"`
	Keys      KeysConfig      `toml:"keys"`
	People    []PersonConfig  `toml:"people"`
	SIGs      []SIGConfig     `toml:"sigs"`
	Deadlines DeadlinesConfig `toml:"deadlines"`
	// Officers, Escalation and Schedules drive the roster and its nags
	// (roster.go).
	Officers   OfficersConfig   `toml:"officers"`
	Escalation EscalationConfig `toml:"escalation"`
	Schedules  SchedulesConfig  `toml:"schedules"`
	Intake     IntakeConfig     `toml:"intake"`
	Email      EmailConfig      `toml:"email"`
	// SecurityTxt is nil when there is no [security_txt] section.
	SecurityTxt *SecurityTxtConfig `toml:"security_txt"`
	// Publication and PolicyPage ([policy]) are nil when absent
	// (publication.go).
	Publication *PublicationConfig `toml:"publication"`
	PolicyPage  *PolicyConfig      `toml:"policy"`

	Server     ServerConfig     `toml:"server"`
	Control    ControlConfig    `toml:"control"`
	Mattermost MattermostConfig `toml:"mattermost"`
	IRC        IRCConfig        `toml:"irc"`

	// ircDefined is set when the file has an [irc] section.
	ircDefined bool
	// file is where the config was read from: relative paths in it are
	// relative to its directory, and problems name it.
	file string
	loc  *locator
}

// StorageConfig is the [storage] section.
type StorageConfig struct {
	Path string `toml:"path"` // the SQLite file
}

// LogConfig is the [log] section.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// KeysConfig is the [keys] section: the team's OpenPGP key.
type KeysConfig struct {
	TeamKeyFile    string `toml:"team_key_file"`   // armored secret key
	PassphraseFile string `toml:"passphrase_file"` // else the environment variable below
	PassphraseEnv  string `toml:"passphrase_env"`
	// KnownKeysDir holds public keys (reporters', members'): a report
	// signed by one of them is "verified by" that key.
	KnownKeysDir string `toml:"known_keys_dir"`
	// RequireEncryption quarantines reports that are not encrypted to the
	// team key instead of opening an incident marked UNENCRYPTED.
	RequireEncryption bool `toml:"require_encryption"`
	// Retired are earlier team keys ([[keys.retired]]), see RetiredKeyConfig.
	Retired []RetiredKeyConfig `toml:"retired"`
}

// PersonConfig is one [[people]] entry.
type PersonConfig struct {
	Name       string `toml:"name"`
	Role       string `toml:"role"`
	Mattermost string `toml:"mattermost"`
	IRCAccount string `toml:"irc_account"`
	Email      string `toml:"email"`
	Timezone   string `toml:"timezone"`
	QuietHours string `toml:"quiet_hours"`
	Notify     string `toml:"notify"`
	// KeyFile is the person's armored public key, for notify = "email".
	KeyFile string `toml:"key_file"`
}

// SIGConfig is one [[sigs]] entry.
type SIGConfig struct {
	Name      string            `toml:"name"`
	Default   bool              `toml:"default"` // takes what no routing rule matches
	Lead      string            `toml:"lead"`
	Deputies  []string          `toml:"deputies"`
	Contacts  []string          `toml:"contacts"`
	Deadlines DeadlineOverrides `toml:"deadlines"`
	Rotation  *RotationConfig   `toml:"rotation"` // nil: the lead is always on duty
	Route     RouteConfig       `toml:"route"`
}

// DeadlinesConfig is the [deadlines] section.
type DeadlinesConfig struct {
	Acknowledge     Duration     `toml:"acknowledge"`
	Triage          Duration     `toml:"triage"`
	Fix             FixDeadlines `toml:"fix"`
	Stale           Duration     `toml:"stale"`
	EmbargoWarnings []Duration   `toml:"embargo_warnings"`
	EmbargoMax      Duration     `toml:"embargo_max"`
}

// FixDeadlines is the fix deadline by severity.
type FixDeadlines struct {
	Critical Duration `toml:"critical"`
	High     Duration `toml:"high"`
	Medium   Duration `toml:"medium"`
	Low      Duration `toml:"low"`
	Unknown  Duration `toml:"unknown"`
}

// DeadlineOverrides is a SIG's partial [deadlines]: unset values inherit.
type DeadlineOverrides struct {
	Acknowledge *Duration    `toml:"acknowledge"`
	Triage      *Duration    `toml:"triage"`
	Fix         FixOverrides `toml:"fix"`
	Stale       *Duration    `toml:"stale"`
	// EmbargoWarnings, when set, replaces the global list.
	EmbargoWarnings []Duration `toml:"embargo_warnings"`
}

// FixOverrides is a SIG's partial fix deadlines.
type FixOverrides struct {
	Critical *Duration `toml:"critical"`
	High     *Duration `toml:"high"`
	Medium   *Duration `toml:"medium"`
	Low      *Duration `toml:"low"`
	Unknown  *Duration `toml:"unknown"`
}

// Duration is a time.Duration written as "48h", "5d" or "1w2d".
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := bot.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(bot.FormatDuration(d.Duration)), nil }

// DefaultConfig is the configuration before the file is applied.
func DefaultConfig() *Config {
	def := bot.DefaultDeadlines()
	var warnings []Duration
	for _, w := range def.EmbargoWarnings {
		warnings = append(warnings, Duration{w})
	}
	return &Config{
		Timezone: "UTC",
		Storage:  StorageConfig{Path: "sectriage.db"},
		Log:      LogConfig{Level: "info", Format: "text"},
		Keys:     KeysConfig{PassphraseEnv: "SECTRIAGE_TEAM_PASSPHRASE"},
		Intake:   defaultIntake(),
		Deadlines: DeadlinesConfig{
			Acknowledge: Duration{def.Acknowledge},
			Triage:      Duration{def.Triage},
			Fix: FixDeadlines{
				Critical: Duration{def.Fix[bot.SeverityCritical]},
				High:     Duration{def.Fix[bot.SeverityHigh]},
				Medium:   Duration{def.Fix[bot.SeverityMedium]},
				Low:      Duration{def.Fix[bot.SeverityLow]},
				Unknown:  Duration{def.Fix[bot.SeverityUnknown]},
			},
			Stale:           Duration{def.Stale},
			EmbargoWarnings: warnings,
			EmbargoMax:      Duration{def.EmbargoMax},
		},
		Escalation: defaultEscalation(),
		Schedules:  defaultSchedules(),
		Server:     defaultServer(),
		Mattermost: defaultMattermost(),
		IRC:        defaultIRC(),
	}
}

// Load reads, decodes and validates a config file. It reports every
// problem in one go: wrong types and values, unknown keys, and what
// validation finds in the rest.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cfg, ps := parse(data, path)
	if cfg == nil {
		return nil, ps
	}
	reported := map[int]bool{}
	for _, p := range ps {
		reported[p.Line] = true
	}
	if err := cfg.Validate(); err != nil {
		for _, p := range err.(Problems) {
			// A wrong value was left at its default; validation would only
			// say the same line again.
			if p.Line == 0 || !reported[p.Line] {
				ps = append(ps, p)
			}
		}
	}
	if len(ps) > 0 {
		sortProblems(ps)
		return nil, ps
	}
	return cfg, nil
}

// secretWords make the unknown-key error for a secret say where secrets go.
var secretWords = []string{"token", "password", "passphrase", "secret"}

// Parse decodes TOML over DefaultConfig strictly. It does not validate.
func Parse(data []byte, file string) (*Config, error) {
	cfg, ps := parse(data, file)
	if len(ps) > 0 {
		return nil, ps
	}
	return cfg, nil
}

// parse decodes what it can: the config (nil after a syntax error) with
// wrong values left at their defaults, and every problem found.
func parse(data []byte, file string) (*Config, Problems) {
	src := string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	loc := newLocator(src)
	cfg, md, ps := decodeAll(src, file, loc)
	if cfg == nil {
		return nil, ps
	}
	cfg.file, cfg.loc = file, loc
	cfg.ircDefined = md.IsDefined("irc")
	if !md.IsDefined("irc", "full_report") && !cfg.Mattermost.Enabled() {
		cfg.IRC.FullReport = FullReportHost
	}
	ps = append(ps, unknownKeys(md, file, loc)...)
	cfg.Email.fillDefaults()
	sortProblems(ps)
	return cfg, ps
}

// File is the path the config was read from ("" if built in code).
func (c *Config) File() string { return c.file }

// Resolve makes a path from the config absolute, relative to the config
// file's directory.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.file == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.file), p)
}

// ReadSecret returns a secret from a file (relative to the config) or, when
// no file is set, from an environment variable. Trailing newlines are
// dropped; an empty secret is an error.
func (c *Config) ReadSecret(file, env, what string) (string, error) {
	var v string
	switch {
	case file != "":
		path := c.SecretPath(file)
		b, err := ReadSecretFile(path)
		if errors.Is(err, ErrSecretExposed) {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		if err != nil {
			hint := "write the secret into it (mode 0600, readable by the sectriage user)"
			if env != "" {
				hint += " or leave the *_file option empty and set $" + env
			}
			return "", fmt.Errorf("%s: %w; %s", what, err, hint)
		}
		v = strings.TrimRight(string(b), "\r\n")
	case env != "":
		v = os.Getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s: no file configured and $%s is empty; set one of them", what, env)
		}
	default:
		return "", fmt.Errorf("%s: neither a file nor an environment variable is configured", what)
	}
	if v == "" {
		return "", fmt.Errorf("%s: the secret in %s is empty", what, file)
	}
	return v, nil
}
