package config

import (
	"time"

	"github.com/sectriage/sectriage/bot"
)

// IntakeConfig is the [intake] section: the bounds on what a report may
// make sectriage do, acknowledgements, and the web form.
type IntakeConfig struct {
	MaxMessageSize    Size `toml:"max_message_size"`
	MaxDecryptedSize  Size `toml:"max_decrypted_size"`
	MaxAttachmentSize Size `toml:"max_attachment_size"`
	MaxAttachments    int  `toml:"max_attachments"`
	MaxParts          int  `toml:"max_parts"`
	MaxDepth          int  `toml:"max_depth"`
	// Acknowledge mails reporters their incident id (needs [email.smtp]).
	Acknowledge bool `toml:"acknowledge"`
	// NotifyReporter mails reporters when their report reaches another
	// stage (needs [email.smtp]).
	NotifyReporter bool `toml:"notify_reporter"`
	// The web form (POST /report).
	FormMaxSize    Size     `toml:"form_max_size"`
	FormRateLimit  int      `toml:"form_rate_limit"`  // reports per address per window
	FormRateWindow Duration `toml:"form_rate_window"` // the window
	// FormTrustedProxies is the deprecated name of [server]
	// trusted_proxies, still accepted (with a warning) when that is unset.
	FormTrustedProxies []string `toml:"form_trusted_proxies"`
	// QuarantineRetention is how long a dropped quarantine entry (and its
	// stored copy) is kept before it is deleted.
	QuarantineRetention Duration `toml:"quarantine_retention"`
}

func defaultIntake() IntakeConfig {
	return IntakeConfig{
		MaxMessageSize: 25 << 20, MaxDecryptedSize: 50 << 20, MaxAttachmentSize: 20 << 20,
		MaxAttachments: 30, MaxParts: 200, MaxDepth: 12, Acknowledge: true,
		FormMaxSize: 1 << 20, FormRateLimit: 5, FormRateWindow: Duration{time.Hour},
		QuarantineRetention: Duration{bot.DefaultQuarantineRetention},
	}
}

func (c *Config) validateIntake(s *problemSink) {
	in := c.Intake
	for key, v := range map[string]Size{
		"intake.max_message_size": in.MaxMessageSize, "intake.max_decrypted_size": in.MaxDecryptedSize,
		"intake.max_attachment_size": in.MaxAttachmentSize, "intake.form_max_size": in.FormMaxSize,
	} {
		if v < 1024 {
			s.add(key, "must be at least 1KiB, e.g. 25MiB")
		}
	}
	for key, v := range map[string]int{
		"intake.max_attachments": in.MaxAttachments, "intake.max_parts": in.MaxParts,
		"intake.max_depth": in.MaxDepth, "intake.form_rate_limit": in.FormRateLimit,
	} {
		if v <= 0 {
			s.add(key, "must be a positive number")
		}
	}
	if in.FormRateWindow.Duration <= 0 {
		s.add("intake.form_rate_window", "must be a positive duration such as 1h")
	}
	if in.QuarantineRetention.Duration < time.Hour {
		s.add("intake.quarantine_retention", "must be at least 1h, e.g. 30d")
	}
}
