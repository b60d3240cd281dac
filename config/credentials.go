package config

import (
	"os"
	"path/filepath"
)

// credentialsEnv is set by systemd for a service with LoadCredential=: the
// directory holding the copies, readable by the service alone.
const credentialsEnv = "CREDENTIALS_DIRECTORY"

// SecretFile is one secret file option the config sets.
type SecretFile struct {
	Key  string // "mattermost.token_file"
	Path string // as resolved against the config's directory
}

// SecretFiles lists the secret files the config uses, for the platforms it
// configures only: what a service unit must load, no more (systemd fails
// a unit whose credential file is missing).
func (c *Config) SecretFiles() []SecretFile {
	var out []SecretFile
	add := func(key, file string) {
		if file != "" {
			out = append(out, SecretFile{Key: key, Path: c.Resolve(file)})
		}
	}
	add("keys.team_key_file", c.Keys.TeamKeyFile)
	add("keys.passphrase_file", c.Keys.PassphraseFile)
	if m := c.Email.IMAP; m != nil {
		add("email.imap.password_file", m.PasswordFile)
	}
	if m := c.Email.SMTP; m != nil {
		add("email.smtp.password_file", m.PasswordFile)
	}
	if m := c.Mattermost; m.Enabled() {
		add("mattermost.token_file", m.TokenFile)
		add("mattermost.slash_token_file", m.SlashTokenFile)
		add("mattermost.button_secret_file", m.ButtonSecretFile)
	}
	if r := c.IRC; c.IRCEnabled() {
		add("irc.server_password_file", r.ServerPasswordFile)
		add("irc.sasl.password_file", r.SASL.PasswordFile)
		add("irc.sasl.key_file", r.SASL.KeyFile)
		add("irc.triage_channel.key_file", r.TriageChannel.KeyFile)
	}
	return out
}

// SecretPath is where the secret file option file is read: its path
// (relative to the config), or, under a systemd service with
// LoadCredential= whose credentials directory holds a file of the same
// base name, that copy. The unit `sectriage systemd-unit` prints loads
// each secret under its base name, so one config serves the service and
// a check or ingest run outside it, which read the files themselves.
func (c *Config) SecretPath(file string) string {
	path := c.Resolve(file)
	if dir := os.Getenv(credentialsEnv); dir != "" && file != "" {
		if alt := filepath.Join(dir, filepath.Base(path)); fileExists(alt) {
			return alt
		}
	}
	return path
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
