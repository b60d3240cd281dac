package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestIRCEndToEnd runs the binary's check and run against a real network
// over TLS with a pinned certificate: check finds the channel private, the
// daemon posts the incident queued before it started, takes a claim from
// a SASL-identified member, and says QUIT when it is stopped.
// privateIRCDesk starts a real network with the bot's, alice's and bob's
// accounts (and extra ones: name, password, ...), a #sec channel made
// +snk by alice, who stays in it, and a directory holding the bot's IRC
// password and the channel key as the configs below name them.
func privateIRCDesk(t *testing.T, extraAccounts ...string) (*ircnet.Network, *ircnet.Client, string) {
	t.Helper()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, append([]string{"sectriage", "bot-pw", "alice", "alice-pw", "bob", "bob-pw"}, extraAccounts...)...)
	alice := ircnet.Dial(t, n.Addr(), "alice", ircnet.ClientOptions{Account: "alice", Password: "alice-pw"})
	alice.Join("#sec", "")
	alice.Expect(t, 10*time.Second, ircnet.Cmd("JOIN", "#sec"))
	alice.Mode("#sec", "+snk", "chan-key")
	alice.Expect(t, 10*time.Second, ircnet.Cmd("MODE", "#sec"))

	dir := t.TempDir()
	for name, content := range map[string]string{"irc-password": "bot-pw\n", "irc-key": "chan-key\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return n, alice, dir
}

func TestIRCEndToEnd(t *testing.T) {
	t.Parallel()
	n, _, dir := privateIRCDesk(t) // alice stays in #sec, keeping it alive
	path := filepath.Join(dir, "sectriage.toml")
	cfgText := `
[storage]
path = "st.db"

# No SMTP here: reporters get no acknowledgement, and check would say so.
[intake]
acknowledge = false

[[people]]
name = "alice"
role = "officer"
irc_account = "alice"

[[people]]
name = "bob"
role = "member"
irc_account = "bob"

[[sigs]]
name = "core"
lead = "bob"

[irc]
server = "` + n.TLSAddr() + `"
pin = "` + n.CertFingerprint + `"
sasl = { mechanism = "PLAIN", account = "sectriage", password_file = "irc-password" }
triage_channel = { name = "#sec", key_file = "irc-key" }
manage_modes = true
reconnect = { min = "1s", max = "2s" }
`
	if err := os.WriteFile(path, []byte(withTeamKey(t, dir, cfgText)), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, "", "check", "-config", path)
	if code != exitOK || !strings.Contains(out, "ok:      IRC #sec is private (modes +knst)") ||
		!strings.Contains(out, "logged in as sectriage") {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "warning: IRC manage_modes is on but the bot is not operator") {
		t.Errorf("check should warn that the bot is not operator:\n%s", out)
	}

	// An incident queued before the daemon starts, as intake would.
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openStateDB(t, path)
	settings, _ := cfg.Settings([]string{bot.PlatformIRC})
	svc := bot.NewService(db, bot.SystemClock{}, discardLogger(), settings)
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "Use after free in the TLS layer"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	bob := ircnet.Dial(t, n.Addr(), "bob", ircnet.ClientOptions{Account: "bob", Password: "bob-pw"})
	bob.Join("#sec", "chan-key")
	bob.Expect(t, 10*time.Second, ircnet.Cmd("JOIN", "#sec"))

	done := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		done <- run(ctx, []string{"run", "-config", path}, strings.NewReader(""), &strings.Builder{}, &stderr)
	}()

	fromBot := func(cmd, prefix string) func(ircnet.Line) bool {
		return func(l ircnet.Line) bool {
			return l.Nick() == "sectriage" && l.Command == cmd && l.Param(0) == "#sec" && strings.HasPrefix(l.Param(1), prefix)
		}
	}
	bob.Expect(t, 20*time.Second, fromBot("PRIVMSG", "New incident SEC-1 [unknown, new, SIG core] Use after free in the TLS layer"))
	bob.Privmsg("#sec", "!claim 1")
	bob.Expect(t, 10*time.Second, fromBot("NOTICE", "bob: You claimed SEC-1"))

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("run exited %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
	l := bob.Expect(t, 10*time.Second, func(l ircnet.Line) bool { return l.Nick() == "sectriage" && l.Command == "QUIT" })
	if !strings.Contains(l.Param(0), "shutting down") {
		t.Errorf("QUIT %q", l.Raw)
	}
}
