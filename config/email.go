package config

import (
	"net"
	"net/mail"
	"time"
)

// EmailConfig is the [email] section: where reports are fetched and how
// reporters are mailed. Each subsection is optional.
type EmailConfig struct {
	IMAP *IMAPConfig `toml:"imap"`
	SMTP *SMTPConfig `toml:"smtp"`
}

// IMAPConfig is [email.imap]: the security@ mailbox.
type IMAPConfig struct {
	Address string `toml:"address"` // host:port
	// TLS is implicit (port 993), starttls, or none (loopback only).
	TLS          string `toml:"tls"`
	CAFile       string `toml:"ca_file"` // PEM roots to trust instead of the system's
	Username     string `toml:"username"`
	PasswordFile string `toml:"password_file"`
	PasswordEnv  string `toml:"password_env"`
	Mailbox      string `toml:"mailbox"`
	// DoneMailbox receives each message once its incident is committed;
	// QuarantineMailbox (default: DoneMailbox) the rejected ones.
	DoneMailbox       string   `toml:"done_mailbox"`
	QuarantineMailbox string   `toml:"quarantine_mailbox"`
	PollInterval      Duration `toml:"poll_interval"`
}

// SMTPConfig is [email.smtp]: mail to reporters.
type SMTPConfig struct {
	Address string `toml:"address"` // host:port
	// TLS is starttls (port 587), implicit (port 465), or none (loopback only).
	TLS          string `toml:"tls"`
	CAFile       string `toml:"ca_file"`
	Username     string `toml:"username"` // empty: no authentication
	PasswordFile string `toml:"password_file"`
	PasswordEnv  string `toml:"password_env"`
	From         string `toml:"from"`
}

func (e *EmailConfig) fillDefaults() {
	if m := e.IMAP; m != nil {
		if m.TLS == "" {
			m.TLS = "implicit"
		}
		if m.Mailbox == "" {
			m.Mailbox = "INBOX"
		}
		if m.DoneMailbox == "" {
			m.DoneMailbox = "Processed"
		}
		if m.QuarantineMailbox == "" {
			m.QuarantineMailbox = m.DoneMailbox
		}
		if m.PollInterval.Duration == 0 {
			m.PollInterval = Duration{time.Minute}
		}
		if m.PasswordFile == "" && m.PasswordEnv == "" {
			m.PasswordEnv = "SECTRIAGE_IMAP_PASSWORD"
		}
	}
	if m := e.SMTP; m != nil {
		if m.TLS == "" {
			m.TLS = "starttls"
		}
		if m.Username != "" && m.PasswordFile == "" && m.PasswordEnv == "" {
			m.PasswordEnv = "SECTRIAGE_SMTP_PASSWORD"
		}
	}
}

func (c *Config) validateEmail(s *problemSink) {
	if m := c.Email.IMAP; m != nil {
		validateMailServer(s, "email.imap", m.Address, m.TLS, []string{"implicit", "starttls", "none"})
		if m.Username == "" {
			s.add("email.imap.username", "required: the mailbox's login")
		}
		if m.Mailbox == m.DoneMailbox || m.Mailbox == m.QuarantineMailbox {
			s.add("email.imap.done_mailbox", "must differ from mailbox %q, or handled mail would be read again", m.Mailbox)
		}
		if m.PollInterval.Duration < time.Second {
			s.add("email.imap.poll_interval", "must be at least 1s")
		}
		if c.Keys.TeamKeyFile == "" {
			s.add("email.imap", "needs [keys] team_key_file: reports are decrypted with the team key")
		}
	}
	if m := c.Email.SMTP; m != nil {
		validateMailServer(s, "email.smtp", m.Address, m.TLS, []string{"starttls", "implicit", "none"})
		if a, err := mail.ParseAddress(m.From); err != nil || a.Name != "" {
			s.add("email.smtp.from", "required: the address mail to reporters comes from, e.g. security@example.org")
		}
	}
}

func validateMailServer(s *problemSink, key, address, mode string, modes []string) {
	host, port, err := net.SplitHostPort(address)
	if err != nil || host == "" || port == "" {
		s.add(key+".address", "required as host:port, e.g. mail.example.org:993")
	}
	ok := false
	for _, m := range modes {
		ok = ok || m == mode
	}
	if !ok {
		s.add(key+".tls", "must be one of %v, not %q", modes, mode)
	}
	if mode == "none" && host != "" && !isLoopback(host) {
		s.add(key+".tls", "none would send the password in the clear; it is allowed only for a server on this machine (localhost)")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
