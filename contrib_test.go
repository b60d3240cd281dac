package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/internal/testenv"
)

// TestSystemdUnitVerifies runs systemd-analyze verify on the shipped unit,
// with ExecStart pointed at a freshly built binary (verify checks that the
// command exists).
func TestSystemdUnitVerifies(t *testing.T) {
	testenv.RealServer(t, "the sectriage binary built")
	analyze := testenv.LookPath(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	bin := filepath.Join(dir, "sectriage")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	unit, err := os.ReadFile("contrib/systemd/sectriage.service")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/sectriage", bin)
	for _, want := range []string{"User=sectriage", "ProtectSystem=strict", "NoNewPrivileges=yes", "StateDirectory=sectriage", "LoadCredential="} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %s", want)
		}
	}
	path := filepath.Join(dir, "sectriage.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "sectriage.service:") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The exposure systemd rates the unit at stays where it is: 1.4 (OK).
	cmd := exec.Command(analyze, "security", "--offline=yes", "sectriage.service")
	cmd.Dir = dir
	out, _ = cmd.CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for sectriage\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security gave no exposure level:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 1.4 {
		t.Errorf("exposure level %s, more than 1.4:\n%s", m[1], out)
	}
}

// TestFuzzScriptListsEveryTarget keeps scripts/fuzz.sh, which CI runs, in
// step with the fuzz targets in the tree.
func TestFuzzScriptListsEveryTarget(t *testing.T) {
	script, err := os.ReadFile("scripts/fuzz.sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "grep", "-h", "-o", `^func Fuzz[A-Za-z0-9_]*`, "--", "*_test.go").Output()
	if err != nil {
		t.Skipf("git grep unavailable: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name := strings.TrimPrefix(line, "func ")
		if !strings.Contains(string(script), ":"+name+"\n") {
			t.Errorf("scripts/fuzz.sh does not fuzz %s", name)
		}
	}
}
