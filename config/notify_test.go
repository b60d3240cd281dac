package config

import (
	"strings"
	"testing"
)

// TestNotifyEmailNeedsAddressKeyAndSMTP: a person notified by mail needs
// an address, a key to encrypt to and a server to send with; each missing
// one is named.
func TestNotifyEmailNeedsAddressKeyAndSMTP(t *testing.T) {
	src := minimal + `
[[people]]
name = "erin"
role = "member"
notify = "email"

[[people]]
name = "frank"
role = "member"
notify = "pager"
`
	cfg, err := Parse([]byte(src), "n.toml")
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`.email: required with notify = "email"`, `.key_file: required with notify = "email"`,
		`.notify: "email" needs [email.smtp]`, `.notify: must be dm, channel or email, not "pager"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
	ok := minimal + `
[[people]]
name = "erin"
role = "member"
email = "erin@example.org"
notify = "email"
key_file = "erin.asc"

[email.smtp]
address = "smtp.example.org:587"
from = "security@example.org"
`
	if cfg, err = Parse([]byte(ok), "ok.toml"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil && strings.Contains(err.Error(), "erin") {
		t.Errorf("a complete notify = \"email\" is refused: %v", err)
	}
}
