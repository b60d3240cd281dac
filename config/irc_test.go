package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestIRCSectionTurnsIRCOn(t *testing.T) {
	cfg, err := Parse([]byte(minimal), "m.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IRCEnabled() {
		t.Fatal("no [irc] section, yet IRC is on")
	}
	src := minimal + `
[irc]
server = "irc.libera.chat:6697"
sasl = { mechanism = "PLAIN", account = "sectriage", password_file = "irc-password" }
triage_channel = { name = "#example-security", key_file = "irc-key" }
`
	cfg, err = Parse([]byte(src), "m.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r := cfg.IRC
	if !cfg.IRCEnabled() || !r.TLS || r.Nick != "sectriage" || r.Prefix != "!" || r.Rate.Burst != 4 ||
		r.Rate.PerLine.Duration != 2*time.Second || r.MaxBodyLines != 25 || r.Reconnect.Max.Duration != 5*time.Minute {
		t.Fatalf("defaults not applied: %+v", r)
	}
}

func TestIRCProblemsNameKeyAndLine(t *testing.T) {
	src := minimal + `
[irc]
server = "irc.example.org"
tls = false
pin = "abc"
nick = "9bad nick"
sasl = { mechanism = "PLAIN", account = "sectriage", password_file = "pw" }
triage_channel = { name = "security" }
manage_modes = true
prefix = ""
rate = { burst = 50, per_line = "1s" }
max_body_lines = -1
trusted_members = ["logbot", "*!*@host"]
`
	cfg, err := Parse([]byte(src), "i.toml")
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`i.toml:14: irc.server: "irc.example.org": write host:port`,
		`i.toml:15: irc.tls: ca_file and pin apply only with tls = true`,
		`i.toml:15: irc.tls: SASL PLAIN without TLS would send the password in clear`,
		`i.toml:16: irc.pin: the SHA-256`,
		`i.toml:17: irc.nick: "9bad nick" is not a valid IRC nick`,
		`i.toml:19: irc.triage_channel.name: required`,
		`i.toml:20: irc.manage_modes: needs triage_channel.key_file`,
		`i.toml:21: irc.prefix:`,
		`i.toml:22: irc.rate.burst: must be 1 to 10`,
		`i.toml:23: irc.max_body_lines:`,
		`i.toml:24: irc.trusted_members[2]: "*!*@host" is not a services account name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
	// Plain text is fine to a loopback bouncer.
	cfg, _ = Parse([]byte(minimal+"[irc]\nserver = \"127.0.0.1:6667\"\ntls = false\nsasl = { mechanism = \"PLAIN\", account = \"bot\", password_env = \"X\" }\ntriage_channel = { name = \"#sec\" }\n"), "l.toml")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("loopback without TLS: %v", err)
	}
}

func TestIRCSecretsNeverInTheFile(t *testing.T) {
	_, err := Parse([]byte(minimal+"[irc]\nserver = \"a:1\"\nsasl = { mechanism = \"PLAIN\", password = \"hunter2\" }\n"), "s.toml")
	if err == nil || !strings.Contains(err.Error(), "irc.sasl.password: unknown key; secrets never go in the TOML") {
		t.Fatalf("err %v", err)
	}
}

func TestIRCIncidentChannelPattern(t *testing.T) {
	base := minimal + "[irc]\nserver = \"127.0.0.1:6667\"\ntls = false\ntriage_channel = { name = \"#sec\" }\nchannel_per_incident = true\n"
	for pattern, ok := range map[string]bool{
		"":                                       true, // the default, #sec-{id}
		`"#sec-{id}"`:                            true,
		`"#sec-{id}-{random}"`:                   true,
		`"&inc-{random}"`:                        true,
		`"#sec-fixed"`:                           false, // every incident would share it
		`"sec-{id}"`:                             false,
		`"#sec {id}"`:                            false,
		`"#sec,{id}"`:                            false,
		`"#` + strings.Repeat("x", 50) + `{id}"`: false,
	} {
		src := base
		if pattern != "" {
			src += "incident_channel = " + pattern + "\n"
		}
		cfg, err := Parse([]byte(src), "p.toml")
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.Validate()
		if ok && err != nil {
			t.Errorf("%s: %v", pattern, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "irc.incident_channel")) {
			t.Errorf("%s: accepted (err %v)", pattern, err)
		}
	}
}

func TestBridgeWhenBothPlatformsMakeIncidentChannels(t *testing.T) {
	for _, tc := range []struct {
		irc, mm bool
		want    int
	}{{true, true, 2}, {true, false, 0}, {false, true, 0}} {
		src := minimal + fmt.Sprintf("[irc]\nserver = \"127.0.0.1:6667\"\ntls = false\ntriage_channel = { name = \"#sec\" }\nchannel_per_incident = %v\n"+
			"[mattermost]\nurl = \"https://chat.example.org\"\nteam = \"security\"\nchannel_per_incident = %v\n", tc.irc, tc.mm)
		cfg, err := Parse([]byte(src), "b.toml")
		if err != nil {
			t.Fatal(err)
		}
		st, err := cfg.Settings([]string{"irc", "mattermost"})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Bridge) != tc.want {
			t.Errorf("irc %v, mattermost %v: bridge %v", tc.irc, tc.mm, st.Bridge)
		}
	}
}
