package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestPublishOverIRC walks an incident from draft to publication in the
// IRC triage channel of a real network: bob drafts, alice and carol
// (officers) approve, alice publishes; the daemon then serves the advisory.
func TestPublishOverIRC(t *testing.T) {
	t.Parallel()
	n, alice, dir := privateIRCDesk(t, "carol", "carol-pw")
	addr := freeAddr(t)
	path := filepath.Join(dir, "sectriage.toml")
	cfgText := `
[storage]
path = "st.db"

[[people]]
name = "alice"
role = "officer"
irc_account = "alice"

[[people]]
name = "carol"
role = "officer"
irc_account = "carol"

[[people]]
name = "bob"
role = "member"
irc_account = "bob"

[[sigs]]
name = "core"
lead = "bob"

[server]
listen = "` + addr + `"
public_url = "https://security.example.org"

[publication]
vendor = "Example"
project = "Example Project"
osv_prefix = "x_EXAMPLE-"
output_dir = "site"

[policy]
scope = "libexample."
disclosure = "We publish with the fix."
mail = "security@example.org"

[irc]
server = "` + n.TLSAddr() + `"
pin = "` + n.CertFingerprint + `"
sasl = { mechanism = "PLAIN", account = "sectriage", password_file = "irc-password" }
triage_channel = { name = "#sec", key_file = "irc-key" }
reconnect = { min = "1s", max = "2s" }
`
	if err := os.WriteFile(path, []byte(withTeamKey(t, dir, cfgText)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openStateDB(t, path) // sealed with the team key, as the daemon opens it
	settings, _ := cfg.Settings([]string{bot.PlatformIRC})
	svc := bot.NewService(db, bot.SystemClock{}, discardLogger(), settings)
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "CANARY-TITLE use after free"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	members := map[string]*ircnet.Client{"alice": alice}
	for _, name := range []string{"bob", "carol"} {
		c := ircnet.Dial(t, n.Addr(), name, ircnet.ClientOptions{Account: name, Password: name + "-pw"})
		c.Join("#sec", "chan-key")
		c.Expect(t, 10*time.Second, ircnet.Cmd("JOIN", "#sec"))
		members[name] = c
	}
	done := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		done <- run(ctx, []string{"run", "-config", path}, strings.NewReader(""), &strings.Builder{}, &stderr)
	}()
	members["bob"].Expect(t, 20*time.Second, func(l ircnet.Line) bool {
		return l.Nick() == "sectriage" && l.Command == "PRIVMSG" && strings.HasPrefix(l.Param(1), "New incident SEC-1")
	})
	say := func(who, line, want string) {
		t.Helper()
		c := members[who]
		c.Privmsg("#sec", "!"+line)
		c.Expect(t, 10*time.Second, func(l ircnet.Line) bool {
			return l.Nick() == "sectriage" && l.Command == "NOTICE" && strings.HasPrefix(l.Param(1), who+": ") && strings.Contains(l.Param(1), want)
		})
	}
	say("alice", "ack 1", "You acknowledged SEC-1")
	say("alice", "confirm 1", "triage → fixing")
	say("bob", "advisory 1 set title Use after free in the TLS layer", "SEC-1's advisory")
	say("bob", "advisory 1 set summary A closed session is used again.", "SEC-1's advisory")
	say("bob", "advisory 1 set description A renegotiation frees the session that the next record still uses.", "SEC-1's advisory")
	say("bob", "advisory 1 affected libexample 2.0.0..2.0.4", "SEC-1's advisory")
	say("bob", "advisory 1 ref patch https://git.example.org/c/2", "SEC-1's advisory")
	say("alice", "publish 1 now", "cannot be published yet")
	say("alice", "approve 1", "You approved SEC-1's advisory")
	say("carol", "approve 1", "Missing: nothing; ready to publish")
	say("alice", "publish 1 now", "is published as")

	resp, err := http.Get("http://" + addr + "/advisories/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Use after free in the TLS layer") || strings.Contains(string(body), "CANARY") {
		t.Errorf("GET /advisories/ after publishing over IRC: %d\n%s", resp.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "site", "advisories", "index.html")); err != nil {
		t.Errorf("output_dir: %v", err)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("run exited %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
}
