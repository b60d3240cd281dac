package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv/ircnet"
	"github.com/sectriage/sectriage/teamkey"
)

// opsDaemon is the daemon running in-process against a real IRC network,
// with a team key and the HTTP listener, as the operations tests need it:
// reports come in by POST /report, chat goes through IRC, and the tests
// read /metrics and /readyz and reload the config.
type opsDaemon struct {
	t          *testing.T
	net        *ircnet.Network
	dir, path  string
	key        *teamkey.Key
	base       string // http://127.0.0.1:port
	log        *syncBuffer
	reload     chan os.Signal
	daemon     *liveDaemon
	alice, bob *ircnet.Client
}

// opsSecrets are the secret values the daemon reads from files.
type opsSecrets struct {
	ircPassword, channelKey, passphrase string
}

var defaultSecrets = opsSecrets{ircPassword: "bot-pw-Xq81", channelKey: "chan-key-Zr55", passphrase: "correct horse"}

// opsConfig is the config of opsDaemon; people and sigs are the parts the
// reload test changes.
func opsConfig(n *ircnet.Network, addr, extra string) string {
	return `
[storage]
path = "st.db"

[log]
level = "debug"
format = "json"

[keys]
team_key_file = "team.asc"
passphrase_file = "passphrase"

[server]
listen = "` + addr + `"
public_url = "http://` + addr + `"

[irc]
server = "` + n.TLSAddr() + `"
pin = "` + n.CertFingerprint + `"
sasl = { mechanism = "PLAIN", account = "sectriage", password_file = "irc-password" }
triage_channel = { name = "#sec", key_file = "irc-key" }
reconnect = { min = "1s", max = "2s" }
rate = { burst = 10, per_line = "1s" } # the fastest allowed
` + extra
}

const opsPeople = `
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
`

// opsOptions change what startOpsDaemon sets up.
type opsOptions struct {
	secrets       opsSecrets
	people, extra string // config after the common part
	// addr is the listener's address; "" picks a free port.
	addr string
	// teamKey is the armored secret team key, protected by
	// secrets.passphrase; nil generates one.
	teamKey []byte
	// files are written into the config's directory (more secrets).
	files map[string]string
}

// startOpsDaemon starts an IRC network, a private #sec with alice and bob
// in it, and the daemon with config people+extra; it returns once the
// daemon is Ready (IRC usable as /readyz counts it, the listener serving).
func startOpsDaemon(t *testing.T, secrets opsSecrets, people, extra string) *opsDaemon {
	t.Helper()
	return startOpsDaemonWith(t, opsOptions{secrets: secrets, people: people, extra: extra})
}

func startOpsDaemonWith(t *testing.T, o opsOptions) *opsDaemon {
	t.Helper()
	secrets := o.secrets
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, "sectriage", secrets.ircPassword, "alice", "alice-pw", "bob", "bob-pw", "carol", "carol-pw")
	d := &opsDaemon{t: t, net: n, dir: t.TempDir(), log: &syncBuffer{}, reload: make(chan os.Signal, 1)}
	d.alice = ircnet.Dial(t, n.Addr(), "alice", ircnet.ClientOptions{Account: "alice", Password: "alice-pw"})
	d.alice.Join("#sec", "")
	d.alice.Expect(t, 10*time.Second, ircnet.Cmd("JOIN", "#sec"))
	d.alice.Mode("#sec", "+snk", secrets.channelKey)
	d.alice.Expect(t, 10*time.Second, ircnet.Cmd("MODE", "#sec"))
	d.bob = ircnet.Dial(t, n.Addr(), "bob", ircnet.ClientOptions{Account: "bob", Password: "bob-pw"})
	d.bob.Join("#sec", secrets.channelKey)
	d.bob.Expect(t, 10*time.Second, ircnet.Cmd("JOIN", "#sec"))

	var err error
	armored := o.teamKey
	if armored == nil {
		if d.key, err = teamkey.Generate("Test Team", "security@example.org", time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if armored, err = d.key.ArmoredSecret([]byte(secrets.passphrase)); err != nil {
			t.Fatal(err)
		}
	} else if d.key, err = teamkey.Load(armored, []byte(secrets.passphrase)); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"team.asc": armored, "passphrase": []byte(secrets.passphrase + "\n"),
		"irc-password": []byte(secrets.ircPassword + "\n"), "irc-key": []byte(secrets.channelKey + "\n"),
	}
	for name, content := range o.files {
		files[name] = []byte(content)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(d.dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := o.addr
	if addr == "" {
		addr = freeAddr(t)
	}
	d.base = "http://" + addr
	d.path = filepath.Join(d.dir, "sectriage.toml")
	d.writeConfig(opsConfig(n, addr, o.extra) + o.people)

	d.daemon = startDaemon(t, d.path, d.log, d.reload)
	t.Cleanup(d.stop)
	return d
}

func (d *opsDaemon) writeConfig(text string) {
	d.t.Helper()
	if err := os.WriteFile(d.path, []byte(text), 0o600); err != nil {
		d.t.Fatal(err)
	}
}

// get fetches a path from the listener; code 0 means no answer.
func (d *opsDaemon) get(path string) (int, string) {
	resp, err := http.Get(d.base + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitLog waits until the daemon's log holds s, n times.
func (d *opsDaemon) waitLog(s string, n int) {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(d.log.String(), s) < n {
		if time.Now().After(deadline) {
			d.t.Fatalf("log never showed %q %d times:\n%s", s, n, d.log.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a log
	}
}

// stop ends the daemon and checks it stopped cleanly; a failed test
// shows the daemon's log.
func (d *opsDaemon) stop() {
	if err := d.daemon.stop(); err != nil {
		d.t.Errorf("run: %v", err)
	}
	if d.t.Failed() {
		d.t.Logf("daemon log:\n%s", d.log.String())
	}
}

// fromBot matches what the bot says in #sec.
func fromBot(cmd, prefix string) func(ircnet.Line) bool {
	return func(l ircnet.Line) bool {
		return l.Nick() == "sectriage" && l.Command == cmd && l.Param(0) == "#sec" && strings.HasPrefix(l.Param(1), prefix)
	}
}
