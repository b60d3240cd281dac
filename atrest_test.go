package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// TestCanariesAtRest is issue 11's "nothing confidential at rest": a report
// whose protected Subject, body and sender, a note, a reply to the reporter
// and a ping each carry their own canary goes through the commands an
// operator runs from a shell (ingest, cmd, backup) under umask 022. Then
// every file in the state directory (database, WAL and shared memory of a
// connection still open, the backup) and every log line, at debug level,
// is searched: no canary, and every file is 0600.
func TestCanariesAtRest(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	c := map[string]string{
		"subject":  "CNRYSUBJECT5d1e",
		"body":     "CNRYBODY0a7c",
		"reporter": "cnryreporter83f2@example.net",
		"note":     "CNRYNOTE4b19",
		"reply":    "CNRYREPLY77e0",
		"ping":     "CNRYPING2c6d",
	}
	cfg, key := intakeConfig(t, `
[log]
level = "debug"

[email.smtp]
address = "localhost:2525"
tls = "none"
from = "security@example.org"

[irc]
server = "irc.example.org:6697"
triage_channel = { name = "#sec" }
`)
	dir := filepath.Dir(cfg)
	// People with an IRC account, so pings are queued for them.
	text := strings.Replace(strings.Replace(mustRead(t, cfg), `name = "alice"`, `name = "alice"
irc_account = "alice"`, 1), `name = "bob"`, `name = "bob"
irc_account = "bob"`, 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	run := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, stdin, args...)
		logs.WriteString(errOut)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	report := strings.Replace(string(encryptedMail(t, key, "canary-1@example.net", c["subject"], c["body"]+" in the parser")),
		"From: Reporter <reporter@example.net>", "From: Reporter <"+c["reporter"]+">", 1)
	run(report, "ingest", "-config", cfg)
	run("", "cmd", "-config", cfg, "-as", "alice", "--", "note", "1", c["note"])
	run("", "cmd", "-config", cfg, "-as", "alice", "--", "reply", "1", c["reply"])
	// The ping: a second report, handed to bob, who is pinged with its title.
	run(string(encryptedMail(t, key, "canary-2@example.net", c["ping"], "details")), "ingest", "-config", cfg)
	run("", "cmd", "-config", cfg, "-as", "alice", "--", "assign", "2", "bob")
	if out := run("", "cmd", "-config", cfg, "-as", "alice", "--", "show", "1"); !strings.Contains(out, c["body"]) {
		t.Fatalf("show does not decrypt the body:\n%s", out)
	}
	run("", "backup", "-config", cfg, filepath.Join(dir, "backup.db"))

	// A connection stays open, as the daemon's would, so the WAL and the
	// shared-memory file exist while they are searched. It also proves each
	// canary was stored, so that finding none means sealed, not missing.
	db := openStateDB(t, cfg)
	defer db.Close()
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var stored strings.Builder
	for id := int64(1); id <= 2; id++ {
		inc, err := db.Incident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		stored.WriteString(inc.Title + " " + inc.Reporter + "\n")
		evs, err := db.Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			stored.WriteString(e.Details + "\n")
		}
	}
	msgs, err := db.DueMessages(ctx, time.Now().Add(24*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var pinged, replied bool
	for _, m := range msgs {
		text := bot.RenderPlain(m.Text)
		pinged = pinged || m.Kind == bot.MessagePing && strings.Contains(text, c["ping"])
		replied = replied || m.Kind == bot.MessageMail && m.Dest.Address == c["reporter"] && strings.Contains(text, c["reply"])
	}
	if !pinged || !replied {
		t.Fatalf("the outbox holds no ping with the ping canary (%v) or no reply with the reply canary (%v)", pinged, replied)
	}
	for _, name := range []string{"subject", "reporter", "note", "reply", "ping"} {
		if !strings.Contains(stored.String(), c[name]) {
			t.Errorf("the %s canary was not stored where expected", name)
		}
	}

	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		base := filepath.Base(f)
		seen[base] = true
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, canary := range c {
			if bytes.Contains(b, []byte(canary)) || bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(canary))) {
				t.Errorf("%s holds the %s canary", base, name)
			}
		}
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s is mode %04o, want 0600", base, st.Mode().Perm())
		}
	}
	for _, want := range []string{"st.db", "st.db-wal", "st.db-shm", "backup.db"} {
		if !seen[want] {
			t.Errorf("%s was not there to search (files: %v)", want, files)
		}
	}
	for name, canary := range c {
		if strings.Contains(strings.ToLower(logs.String()), strings.ToLower(canary)) {
			t.Errorf("the logs hold the %s canary", name)
		}
	}
	if !strings.Contains(logs.String(), "level=DEBUG") && !strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("no log lines were captured to search:\n%s", logs.String())
	}
}

// TestNothingRunsWithoutTheTeamKey: without a team key no command makes a
// database it would have to fill with plaintext; a team key or passphrase
// file others can read is refused with the fix; check names the team key
// the database is sealed to when another one is configured.
func TestNothingRunsWithoutTheTeamKey(t *testing.T) {
	dir := t.TempDir()
	noKey := filepath.Join(dir, "sectriage.toml")
	if err := os.WriteFile(noKey, []byte(testConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"cmd", "-config", noKey, "-as", "alice", "--", "list"},
		{"run", "-config", noKey},
	} {
		code, _, errOut := runCLI(t, "", args...)
		if code == exitOK || !strings.Contains(errOut, "no team key ([keys] team_key_file)") {
			t.Errorf("%s without a team key: exit %d %s", args[0], code, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "st.db")); err == nil {
		t.Error("a database was made without a team key")
	}
	code, out, _ := runCLI(t, "", "check", "-config", noKey)
	if code != exitFailed || !strings.Contains(out, "no team key") {
		t.Errorf("check without a team key: exit %d\n%s", code, out)
	}

	cfg, _ := intakeConfig(t, "")
	for _, file := range []string{"team.asc", "passphrase"} {
		path := filepath.Join(filepath.Dir(cfg), file)
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, "", "cmd", "-config", cfg, "-as", "alice", "--", "list")
		if code == exitOK || !strings.Contains(errOut, "run chmod 600 "+path) {
			t.Errorf("%s readable by others: exit %d %s", file, code, errOut)
		}
		os.Chmod(path, 0o600)
	}
	if code, out, errOut := runCLI(t, "", "cmd", "-config", cfg, "-as", "alice", "--", "list"); code != exitOK {
		t.Fatalf("list: exit %d %s %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "check", "-config", cfg)
	if !strings.Contains(out, "sealed, data key wrapped to team key") {
		t.Errorf("check of a sealed database:\n%s", out)
	}
	// Another team key: the database does not open, and both keys are named.
	sealedTo := openStateDB(t, cfg)
	fpr, _ := sealedTo.WrappedTo(context.Background())
	sealedTo.Close()
	other := withTeamKey(t, filepath.Dir(cfg), testConfig)
	if err := os.WriteFile(cfg, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	fixture, _ := fixtureKey()
	code, _, errOut := runCLI(t, "", "cmd", "-config", cfg, "-as", "alice", "--", "list")
	if code == exitOK || !strings.Contains(errOut, fpr) || !strings.Contains(errOut, fixture.Fingerprint()) {
		t.Errorf("another team key: exit %d %s", code, errOut)
	}
	code, out, _ = runCLI(t, "", "check", "-config", cfg)
	if code != exitFailed || !strings.Contains(out, "wrapped to team key "+fpr+", which is neither the current key "+fixture.Fingerprint()) {
		t.Errorf("check with another team key: exit %d\n%s", code, out)
	}
}
