package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sectriage/sectriage/config"
)

// TestContribUnitIsGenerated: the shipped unit is what `sectriage
// systemd-unit` prints for config.example.toml, so its credential names
// are the example's file names, one set wherever an operator copies from.
func TestContribUnitIsGenerated(t *testing.T) {
	cfg, err := config.Load("config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := systemdUnit(cfg, "/usr/local/bin/sectriage", "/etc/sectriage/sectriage.toml")
	if diff := cmp.Diff(want, mustRead(t, "contrib/systemd/sectriage.service")); diff != "" {
		t.Errorf("contrib/systemd/sectriage.service differs from the generated unit (-want +got); regenerate it with "+
			"go run . systemd-unit -config config.example.toml | sed 's|[^ ]*config.example.toml|/etc/sectriage/sectriage.toml|':\n%s", diff)
	}
	// The README names only files the example names.
	example := mustRead(t, "config.example.toml")
	for _, m := range regexp.MustCompile(`/etc/sectriage/([a-z0-9.-]+)`).FindAllStringSubmatch(mustRead(t, "README.md"), -1) {
		if !strings.Contains(example, "/etc/sectriage/"+m[1]) && m[1] != "sectriage.toml" && m[1] != "known-keys" {
			t.Errorf("README names /etc/sectriage/%s, a file config.example.toml does not", m[1])
		}
	}
}

// TestSystemdUnitLoadsOnlyConfiguredPlatforms: an IRC-only desk's unit
// loads no Mattermost or mail credential (a missing one would stop the
// unit), and the check command carries the same credentials.
func TestSystemdUnitLoadsOnlyConfiguredPlatforms(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sectriage.toml")
	src := testConfig + `
[keys]
team_key_file = "/etc/sectriage/team-secret.asc"
passphrase_file = "/etc/sectriage/team-passphrase"

[irc]
server = "irc.example.org:6697"
nick = "sectriage"
sasl = { mechanism = "PLAIN", account = "sectriage", password_file = "/etc/sectriage/irc-password" }
triage_channel = { name = "#sec", key_file = "irc-channel-key" }
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, unit, errOut := runCLI(t, "", "systemd-unit", "-config", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^LoadCredential=(.*)$`).FindAllStringSubmatch(unit, -1) {
		got = append(got, m[1])
	}
	want := []string{
		"team-secret.asc:/etc/sectriage/team-secret.asc",
		"team-passphrase:/etc/sectriage/team-passphrase",
		"irc-password:/etc/sectriage/irc-password",
		"irc-channel-key:" + filepath.Join(dir, "irc-channel-key"), // relative to the config
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/sectriage run -config "+path+"\n") {
		t.Errorf("ExecStart:\n%s", unit)
	}
	code, check, _ := runCLI(t, "", "systemd-unit", "-config", path, "-binary", "/opt/sectriage", "-check")
	if code != exitOK || !strings.HasPrefix(check, "systemd-run --pipe --wait") || !strings.HasSuffix(check, "/opt/sectriage check -config "+path+"\n") {
		t.Fatalf("check command: %s", check)
	}
	for _, c := range want {
		if !strings.Contains(check, " -p LoadCredential="+c+" ") {
			t.Errorf("check command lacks credential %s: %s", c, check)
		}
	}
}

// TestSecretsReadFromTheCredentialsDirectory: under the unit, a secret is
// read from $CREDENTIALS_DIRECTORY by its file's name; outside it, from
// where the config names it.
func TestSecretsReadFromTheCredentialsDirectory(t *testing.T) {
	dir, creds := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "sectriage.toml")
	writeFile(t, path, testConfig)
	writeFile(t, filepath.Join(dir, "irc-password"), "from-etc\n")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := cfg.ReadSecret("irc-password", "", "x"); err != nil || v != "from-etc" {
		t.Fatalf("outside the unit: %q %v", v, err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	if v, err := cfg.ReadSecret("irc-password", "", "x"); err != nil || v != "from-etc" {
		t.Fatalf("credential not loaded: %q %v", v, err)
	}
	writeFile(t, filepath.Join(creds, "irc-password"), "from-credentials\n")
	if v, err := cfg.ReadSecret("irc-password", "", "x"); err != nil || v != "from-credentials" {
		t.Fatalf("under the unit: %q %v", v, err)
	}
}
