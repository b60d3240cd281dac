package config

import (
	"strings"
	"testing"
	"time"
)

func TestSize(t *testing.T) {
	for in, want := range map[string]Size{"25MiB": 25 << 20, "64KiB": 64 << 10, "10MB": 10e6, "1024": 1024, "2 GiB": 2 << 30, "7B": 7} {
		var s Size
		if err := s.UnmarshalText([]byte(in)); err != nil || s != want {
			t.Errorf("%q: %d %v, want %d", in, s, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1KiB", "1.5MiB", "ten", "99999999999GiB"} {
		var s Size
		if err := s.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted as %d", bad, s)
		}
	}
	if got := Size(25 << 20).String(); got != "25MiB" {
		t.Errorf("String: %s", got)
	}
}

func TestEmailDefaultsAndProblems(t *testing.T) {
	cfg, err := Parse([]byte(minimal+`
[keys]
team_key_file = "team.asc"

[email.imap]
address = "imap.example.org:993"
username = "security@example.org"

[email.smtp]
address = "smtp.example.org:587"
from = "security@example.org"
`), "e.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := cfg.Email.IMAP
	if m.TLS != "implicit" || m.Mailbox != "INBOX" || m.DoneMailbox != "Processed" || m.QuarantineMailbox != "Processed" ||
		m.PollInterval.Duration != time.Minute || m.PasswordEnv != "SECTRIAGE_IMAP_PASSWORD" || cfg.Email.SMTP.TLS != "starttls" {
		t.Fatalf("defaults: %+v %+v", m, cfg.Email.SMTP)
	}
	st, _ := cfg.Settings(nil)
	if !st.ReporterMail {
		t.Error("ReporterMail not set with [email.smtp]")
	}

	cfg, err = Parse([]byte(minimal+`
[email.imap]
address = "imap.example.org"
tls = "none"
mailbox = "INBOX"
done_mailbox = "INBOX"

[email.smtp]
address = "smtp.example.org:25"
tls = "plain"
from = "Security <security@example.org>"

[intake]
max_message_size = "10B"
max_depth = 0
form_trusted_proxies = ["10.0.0.0/8", "proxy"]

[security_txt]
contact = ["security@example.org"]
expires = "next year"
`), "e.toml")
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{
		"e.toml:14: email.imap.address: required as host:port",
		"e.toml:13: email.imap.username: required",
		"e.toml:17: email.imap.done_mailbox: must differ",
		"e.toml:21: email.smtp.tls: must be one of",
		"e.toml:22: email.smtp.from: required",
		"e.toml:25: intake.max_message_size: must be at least 1KiB",
		"e.toml:26: intake.max_depth: must be a positive number",
		`e.toml:27: intake.form_trusted_proxies: entry 2, "proxy"`,
		`e.toml:30: security_txt.contact: "security@example.org" must be a mailto:`,
		"e.toml:31: security_txt.expires: required as an RFC 3339 time",
		"security_txt: needs [server] listen",
		"security_txt: needs [keys] team_key_file",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestPlaintextMailOnlyOnLoopback(t *testing.T) {
	cfg, err := Parse([]byte(minimal+"\n[email.smtp]\naddress = \"mail.example.org:25\"\ntls = \"none\"\nfrom = \"s@example.org\"\n"), "p.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "in the clear") {
		t.Fatalf("tls = none on a remote server: %v", err)
	}
	cfg, _ = Parse([]byte(minimal+"\n[email.smtp]\naddress = \"127.0.0.1:2525\"\ntls = \"none\"\nfrom = \"s@example.org\"\n"), "p.toml")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
