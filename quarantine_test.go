package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/teamkey"
)

// TestQuarantineCLI: a report encrypted to a key the team has not
// configured yet is quarantined by `sectriage ingest` as Q-1; officers see
// Q-1 through `sectriage cmd` (a member is refused), with its headers and
// never its content; once the key is configured, releasing Q-1 makes it
// an incident whose report reads.
func TestQuarantineCLI(t *testing.T) {
	cfg, _ := intakeConfig(t, "")
	next, err := teamkey.Generate("Next Team Key", "security@example.org", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mail := encryptedMail(t, next, "rotated@example.net", "RCE in the updater", "CANARY-RELEASE unsigned update")
	code, out, errOut := runCLI(t, string(mail), "ingest", "-config", cfg)
	if code != exitOK || strings.TrimSpace(out) != "quarantined Q-1 (wrong-key)" {
		t.Fatalf("ingest: exit %d %q %s", code, out, errOut)
	}
	cmd := func(who string, words ...string) (int, string) {
		code, out, errOut := runCLI(t, "", append([]string{"cmd", "-config", cfg, "-as", who, "--"}, words...)...)
		return code, out + errOut
	}
	if code, out := cmd("alice", "quarantine"); code != exitOK || !strings.Contains(out, "Q-1") || !strings.Contains(out, "wrong-key") ||
		!strings.Contains(out, "reporter@example.net") {
		t.Fatalf("quarantine: %d %s", code, out)
	}
	if code, out := cmd("bob", "quarantine"); code == exitOK || !strings.Contains(out, "Only a security officer") {
		t.Fatalf("quarantine as a member: %d %s", code, out)
	}
	code, out = cmd("alice", "quarantine", "show", "Q-1")
	if code != exitOK || !strings.Contains(out, "Message-ID: <rotated@example.net>") || strings.Contains(out, "CANARY-RELEASE") {
		t.Fatalf("quarantine show: %d %s", code, out)
	}
	if code, out := cmd("alice", "quarantine", "release", "Q-1"); code != exitOK || !strings.Contains(out, "rejected again (wrong-key)") {
		t.Fatalf("release before the key is configured: %d %s", code, out)
	}

	// The operator configures the key the report was encrypted to: it
	// becomes current, and the old key, which the database's data key is
	// wrapped to, is retired (README, Rotating the team key).
	secret, err := next.ArmoredSecret([]byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(cfg)
	if err := os.Rename(filepath.Join(dir, "team.asc"), filepath.Join(dir, "old.asc")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "team.asc"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n[[keys.retired]]\nkey_file = \"old.asc\"\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if code, out := cmd("alice", "quarantine", "release", "Q-1"); code != exitOK || !strings.Contains(out, "became SEC-1") {
		t.Fatalf("release: %d %s", code, out)
	}
	if code, out := cmd("alice", "show", "1"); code != exitOK || !strings.Contains(out, "CANARY-RELEASE") ||
		!strings.Contains(out, "released from quarantine Q-1 (wrong-key) by alice") {
		t.Fatalf("show 1: %d %s", code, out)
	}
}
