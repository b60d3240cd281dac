package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
	"github.com/sectriage/sectriage/teamkey"
)

// TestDeploymentGuideInOrder walks README's deployment guide for an
// IRC-only desk as far as a test can: the secrets as root-only files
// named as in config.example.toml (step 2, 3), the channel made private
// (step 5), the unit and its check command printed by systemd-unit (step
// 8). The check runs as that command would, emulated: in a fresh state
// directory that does not exist yet, reading the secrets only from the
// credentials directory systemd fills (the originals are gone by then,
// so a path that bypasses the credentials fails). check must pass there,
// before the first start, as the guide says.
func TestDeploymentGuideInOrder(t *testing.T) { // not parallel: it sets $CREDENTIALS_DIRECTORY
	// Step 5's network: the bot's account and a channel locked +snk.
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, "sectriage", "bot-pw", "alice", "alice-pw")
	alice := ircnet.Dial(t, n.Addr(), "alice", ircnet.ClientOptions{Account: "alice", Password: "alice-pw"})
	alice.Join("#example-security", "")
	alice.Expect(t, 10*time.Second, ircnet.Cmd("JOIN", "#example-security"))
	alice.Mode("#example-security", "+snk", "chan-key")
	alice.Expect(t, 10*time.Second, ircnet.Cmd("MODE", "#example-security"))
	// The guide's ChanServ commands, in Anope 2's syntax: register, lock
	// the modes, give the bot's account the AOP level.
	chanServ := func(cmd string) string {
		alice.Privmsg("ChanServ", cmd)
		return alice.Expect(t, 10*time.Second, func(l ircnet.Line) bool {
			return l.Nick() == "ChanServ" && l.Command == "NOTICE"
		}).Param(1)
	}
	for _, c := range []struct{ cmd, reply string }{
		{"REGISTER #example-security", "registered"},
		{"MODE #example-security LOCK ADD +snk chan-key", "+snk chan-key locked on #example-security"},
		{"ACCESS #example-security ADD sectriage 5", "added to #example-security access list"},
	} {
		if reply := chanServ(c.cmd); !strings.Contains(reply, c.reply) {
			t.Fatalf("ChanServ %s: %q, want %q", c.cmd, reply, c.reply)
		}
	}

	root := t.TempDir()
	etc, state := filepath.Join(root, "etc"), filepath.Join(root, "var-lib-sectriage")
	if err := os.Mkdir(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	// Step 2: the team key and its passphrase.
	key, err := teamkey.Generate("Example Security Team", "security@example.org", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	armored, err := key.ArmoredSecret([]byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"team-secret.asc": string(armored), "team-passphrase": "correct horse\n",
		"irc-password": "bot-pw\n", "irc-channel-key": "chan-key\n",
	}
	for name, content := range secrets {
		if !strings.Contains(mustRead(t, "config.example.toml"), "/etc/sectriage/"+name) {
			t.Fatalf("config.example.toml does not name /etc/sectriage/%s", name)
		}
		writeFile(t, filepath.Join(etc, name), content)
	}
	// Step 3: the config, with the example's file names, for IRC only.
	cfgPath := filepath.Join(etc, "sectriage.toml")
	writeFile(t, cfgPath, `
[storage]
path = "`+filepath.Join(state, "sectriage.db")+`"

[keys]
team_key_file = "`+filepath.Join(etc, "team-secret.asc")+`"
passphrase_file = "`+filepath.Join(etc, "team-passphrase")+`"

[intake]
acknowledge = false   # no [email.smtp] on this desk

[[people]]
name = "alice"
role = "officer"
irc_account = "alice"

[[sigs]]
name = "core"
default = true
lead = "alice"

[irc]
server = "`+n.TLSAddr()+`"
pin = "`+n.CertFingerprint+`"
sasl = { mechanism = "PLAIN", account = "sectriage", password_file = "`+filepath.Join(etc, "irc-password")+`" }
triage_channel = { name = "#example-security", key_file = "`+filepath.Join(etc, "irc-channel-key")+`" }
`)
	// Step 8: the unit, and the command that checks as the unit would.
	code, unit, errOut := runCLI(t, "", "systemd-unit", "-config", cfgPath)
	if code != exitOK {
		t.Fatalf("systemd-unit: %d %s", code, errOut)
	}
	if strings.Contains(unit, "mattermost") || strings.Contains(unit, "imap") || strings.Contains(unit, "smtp") {
		t.Errorf("an IRC-only unit loads other platforms' credentials:\n%s", unit)
	}
	verifyUnit(t, cfgPath)
	code, check, errOut := runCLI(t, "", "systemd-unit", "-config", cfgPath, "-check")
	if code != exitOK {
		t.Fatalf("systemd-unit -check: %d %s", code, errOut)
	}
	// What systemd-run does with it: copy each credential, create the state
	// directory; the originals are out of reach of the service.
	creds := filepath.Join(root, "credentials")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	loaded := regexp.MustCompile(`-p LoadCredential=([^:]+):(\S+)`).FindAllStringSubmatch(check, -1)
	if len(loaded) != len(secrets) {
		t.Fatalf("the check command loads %d credentials, want %d: %s", len(loaded), len(secrets), check)
	}
	for _, m := range loaded {
		writeFile(t, filepath.Join(creds, m[1]), mustRead(t, m[2]))
	}
	for name := range secrets {
		if err := os.Remove(filepath.Join(etc, name)); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(check, "-p StateDirectory=sectriage") {
		t.Fatalf("the check command does not create the state directory: %s", check)
	}
	if err := os.Mkdir(state, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	code, out, errOut := runCLI(t, "", "check", "-config", cfgPath)
	if code != exitOK {
		t.Fatalf("check before the first start, as the unit would run it: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"unlocked", "IRC #example-security is private", "new reports are announced on irc", "created (schema version"} {
		if !strings.Contains(out, want) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}
}

// verifyUnit has systemd-analyze check the unit systemd-unit prints for
// cfgPath (with this test binary standing in for the installed one, which
// verify wants to exist) and rate its exposure: 1.4 at most.
func verifyUnit(t *testing.T, cfgPath string) {
	t.Helper()
	analyze := testenv.LookPath(t, "systemd-analyze", "systemd")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	code, unit, errOut := runCLI(t, "", "systemd-unit", "-config", cfgPath, "-binary", self)
	if code != exitOK {
		t.Fatalf("systemd-unit: %d %s", code, errOut)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sectriage.service"), unit)
	out, err := exec.Command(analyze, "verify", filepath.Join(dir, "sectriage.service")).CombinedOutput()
	if err != nil || strings.Contains(string(out), "sectriage.service:") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	cmd := exec.Command(analyze, "security", "--offline=yes", "sectriage.service")
	cmd.Dir = dir
	out, _ = cmd.CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for sectriage\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security gave no exposure level:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 1.4 {
		t.Errorf("exposure level %s, more than 1.4", m[1])
	}
}
