package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
)

// runCLI runs the binary's entry point in-process.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

const testConfig = `
[storage]
path = "st.db"

[[people]]
name = "alice"
role = "officer"

[[people]]
name = "bob"
role = "member"

[[sigs]]
name = "core"
lead = "bob"
`

// writeConfig writes a config and seeds one incident, as intake would.
func writeConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "sectriage.toml")
	if err := os.WriteFile(path, []byte(withTeamKey(t, dir, testConfig)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := openStateDB(t, path)
	defer db.Close()
	settings, _ := cfg.Settings(nil)
	svc := bot.NewService(db, bot.SystemClock{}, discardLogger(), settings)
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "Use after free"}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCmdRunsCommandsAndRefuses(t *testing.T) {
	cfg := writeConfig(t)
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantStderr string
	}{
		{"outsider", []string{"-as", "mallory", "--", "claim", "1"}, exitFailed, "", "only from members of the security team"},
		{"illegal transition", []string{"-as", "alice", "--", "fixed", "SEC-1"}, exitFailed, "", "SEC-1 is in new, where fixed does not apply. From new you can: ack or claim"},
		{"claim", []string{"-as", "bob", "--", "claim", "#1"}, exitOK, "You claimed SEC-1; it is in triage.", ""},
		{"quoted note", []string{"-as", "bob", "--", "note", "1", `it is "bad"`}, exitOK, "Noted on SEC-1.", ""},
		{"show", []string{"-as", "alice", "--", "show", "1"}, exitOK, `note: it is "bad"`, ""},
		{"unknown id", []string{"-as", "alice", "--", "claim", "SEC-9"}, exitFailed, "", "SEC-9 does not exist."},
		{"no words", []string{"-as", "alice"}, exitUsage, "", "usage: sectriage cmd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"cmd", "-config", cfg}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.wantOut) || !strings.Contains(errOut, tc.wantStderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	cfg := writeConfig(t)
	code, out, _ := runCLI(t, "", "check", "-config", cfg)
	// No chat platform: the one error a config without servers must have.
	wantOnlyErrors(t, code, out, nobodyTold, ackNoSMTP)
	if !strings.Contains(out, "ok:      config") || !strings.Contains(out, "schema version") {
		t.Fatalf("check of a good config: exit %d\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte(testConfig+"\n[[people]]\nname = \"eve\"\nrole = \"admin\"\n"), 0o600)
	code, out, _ = runCLI(t, "", "check", "-config", bad)
	if code != exitFailed || !strings.Contains(out, `bad.toml:19: people[3].role: must be officer or member, not "admin"`) {
		t.Fatalf("check of a bad config: exit %d\n%s", code, out)
	}
}

func TestDemoFromPipe(t *testing.T) {
	code, out, errOut := runCLI(t, "list\nclaim 1\nshow 1\nfrobnicate\n", "demo")
	if code != exitOK {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"[#triage, SEC-1] New incident SEC-1",
		"> list\n1 open incident, most urgent first:",
		"> claim 1\nYou claimed SEC-1; it is in triage.",
		"alice (console)  claimed: claimed by alice",
		"  | sending a REGISTER with a Via header", // decrypted from the stored ciphertext
		"> frobnicate\nerror: Unknown command",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := runCLI(t, "", "version"); code != exitOK || !strings.HasPrefix(out, "sectriage ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errOut := runCLI(t, "", "frob"); code != exitUsage || !strings.Contains(errOut, "unknown subcommand") {
		t.Fatalf("unknown subcommand: %d %q", code, errOut)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestBackupCommand(t *testing.T) {
	cfg := writeConfig(t)
	out := filepath.Join(t.TempDir(), "copy.db")
	code, stdout, stderr := runCLI(t, "", "backup", "-config", cfg, out)
	if code != exitOK || !strings.Contains(stdout, "1 incidents") || !strings.Contains(stdout, "integrity check ok") {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "", "backup", "-config", cfg, out); code != exitFailed || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second backup to the same file: exit %d %s", code, stderr)
	}
}
