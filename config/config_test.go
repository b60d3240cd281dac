package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// TestExampleDecodes keeps config.example.toml honest: it must decode
// strictly and validate, so it documents only options that exist.
func TestExampleDecodes(t *testing.T) {
	cfg, err := Load("../config.example.toml")
	if err != nil {
		t.Fatalf("config.example.toml: %v", err)
	}
	st, err := cfg.Settings(nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.DefaultSIG != "core" || st.People.ByIRCAccount("ALICE").Name != "alice" {
		t.Fatalf("settings: default SIG %q", st.DefaultSIG)
	}
	core := st.SIG("core")
	if core.Deadlines.Acknowledge != 24*time.Hour || core.Deadlines.Fix[bot.SeverityCritical] != 72*time.Hour ||
		core.Deadlines.Fix[bot.SeverityHigh] != 30*24*time.Hour {
		t.Fatalf("core overrides not applied: %+v", core.Deadlines)
	}
	if st.SIG("web").Deadlines.Acknowledge != 48*time.Hour {
		t.Fatal("web should inherit the global deadlines")
	}
	if core.Rotation == nil || st.SIG("web").Rotation == nil || st.Officers == nil || len(core.Route.Regex) != 1 ||
		len(core.Deadlines.EmbargoWarnings) != 3 || cfg.Schedules.Digest == "" || st.Escalation.Repeat != 24*time.Hour {
		t.Fatalf("roster options of the example not applied: %+v", core)
	}
}

const minimal = `
[storage]
path = "x.db"

[[people]]
name = "alice"
role = "officer"

[[sigs]]
name = "core"
lead = "alice"
`

func TestMinimalConfig(t *testing.T) {
	cfg, err := Parse([]byte(minimal), "min.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Deadlines.Acknowledge.Duration != 48*time.Hour || cfg.Log.Level != "info" {
		t.Fatal("defaults not applied")
	}
}

func TestErrorsNameKeyAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // each must appear in the error
	}{
		{"unknown key", minimal + "\n[[people]]\nname = \"bob\"\nrole = \"member\"\nmatermost = \"bob\"\n",
			[]string{"t.toml:16: people[2].matermost: unknown key; did you mean mattermost?"}},
		{"unknown section", "[storage]\npath = \"x\"\n[irc_typo]\nserver = \"x\"\n", []string{"t.toml:4:", "irc_typo.server"}},
		{"secret in toml", minimal + "\n[keys]\npassphrase = \"hunter2\"\n", []string{"t.toml:14:", "keys.passphrase", "passphrase_file"}},
		{"wrong type", "[storage]\npath = 42\n", []string{`t.toml:2: storage.path: wrong type: a number is written where a string ("...") is wanted`}},
		{"bad duration", "[deadlines]\ntriage = \"5 days\"\n", []string{"t.toml:2:", "deadlines.triage"}},
		{"syntax", "[storage\npath = 1\n", []string{"t.toml:", "table name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "t.toml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	src := `
timezone = "Mars/Olympus"
[storage]
path = "x.db"

[[people]]
name = "alice"
role = "officer"
timezone = "Europe/Nowhere"

[[people]]
name = "bob"
role = "boss"
quiet_hours = "late"

[[people]]
role = "member"

[[sigs]]
name = "core"
lead = "zed"
deputies = ["alice", "yan"]

[[sigs]]
name = "web"
lead = "bob"
`
	cfg, err := Parse([]byte(src), "v.toml")
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`v.toml:2: timezone: unknown time zone "Mars/Olympus"`,
		`v.toml:9: people[1].timezone: unknown time zone "Europe/Nowhere"`,
		`v.toml:13: people[2].role: must be officer or member, not "boss"`,
		`v.toml:14: people[2].quiet_hours: bad quiet hours "late"`,
		`v.toml:16: people[3].name: required`,
		`v.toml:21: sigs[1].lead: "zed" is not declared in [[people]]`,
		`v.toml:22: sigs[1].deputies[2]: "yan" is not declared in [[people]]`,
		`sigs: mark one SIG with default = true`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := Parse([]byte(minimal), filepath.Join(dir, "c.toml"))
	if v, err := cfg.ReadSecret("pw", "", "x"); err != nil || v != "s3cret" {
		t.Fatalf("file secret = %q, %v", v, err)
	}
	t.Setenv("SECTRIAGE_TEST_SECRET", "from-env")
	if v, err := cfg.ReadSecret("", "SECTRIAGE_TEST_SECRET", "x"); err != nil || v != "from-env" {
		t.Fatalf("env secret = %q, %v", v, err)
	}
	if _, err := cfg.ReadSecret("", "SECTRIAGE_TEST_UNSET", "x"); err == nil {
		t.Fatal("empty env accepted")
	}
	if _, err := cfg.ReadSecret("missing", "", "x"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestMattermostSection(t *testing.T) {
	cfg, err := Load("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Mattermost
	if !m.Enabled() || m.Team != "security" || !m.ChannelPerIncident || m.Trigger != "sec" || m.MaxPosts != 4 ||
		m.ButtonTTL.Duration != 30*24*time.Hour || m.RequestTimeout.Duration != 15*time.Second {
		t.Fatalf("example [mattermost] = %+v", m)
	}
	if cfg.Server.Listen != "127.0.0.1:8080" || cfg.Server.PublicURL != "https://security.example.org" {
		t.Fatalf("example [server] = %+v", cfg.Server)
	}

	src := minimal + `
[mattermost]
url = "chat.example.org"
team = "Security Team"
trusted_members = ["Not A User"]
button_ttl = "10m"
token_env = ""
`
	cfg, err = Parse([]byte(src), "m.toml")
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`m.toml:14: mattermost.url: must be an absolute http:// or https:// URL`,
		`m.toml:15: mattermost.team: "Security Team" is not a team name`,
		`mattermost.triage_channel: required`,
		`mattermost.token_file: required (or token_env)`,
		`m.toml:16: mattermost.trusted_members[1]: "Not A User" is not a Mattermost username`,
		`m.toml:17: mattermost.button_ttl: must be at least 1h`,
		`server.listen: required with [mattermost]`,
		`server.public_url: required with [mattermost]`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}

	// Without a url the adapter is off, and stray keys are an error.
	cfg, _ = Parse([]byte(minimal+"\n[mattermost]\nteam = \"security\"\n"), "m.toml")
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "mattermost.url: required") {
		t.Errorf("[mattermost] without url: %v", err)
	}
	cfg, _ = Parse([]byte(minimal), "m.toml")
	if err := cfg.Validate(); err != nil || cfg.Mattermost.Enabled() {
		t.Errorf("no [mattermost]: enabled=%v, %v", cfg.Mattermost.Enabled(), err)
	}
}
