package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeDemoScript is the README's advisory demo: the printf line that
// publishes, so the README shows exactly what this test runs.
func readmeDemoScript(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^printf '([^']*publish 1 now[^']*)' \| go run \. demo`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no printf '…publish 1 now…' | go run . demo script")
	}
	return strings.ReplaceAll(string(m[1]), `\n`, "\n")
}

// TestPublishDemoScript runs the README's script: draft, two approvals,
// publish now; then checks the files it names, and that nothing of the
// sample report that the team did not type into the draft reached them.
func TestPublishDemoScript(t *testing.T) {
	code, out, errOut := runCLI(t, readmeDemoScript(t), "demo")
	if code != exitOK {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`published as (\S+); the incident is disclosed\..* Wrote (\d+) files to (\S+): `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo did not publish:\n%s", out)
	}
	dir := m[3]
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, want := range []string{
		"> as bob\nYou are now bob, a member of the team. Commands run as bob until the next as.\n> approve 1\nYou approved SEC-1's advisory (text and patch).",
		"> as carol\nYou are now carol, a security officer. Commands run as carol until the next as.\n> approve 1\nYou approved SEC-1's advisory (text and patch). Missing: nothing; ready to publish.",
		"> as alice\nYou are now alice, a security officer. Commands run as alice until the next as.\n> publish 1 now\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// Words of the sample report the draft does not repeat.
		for _, canary := range []string{"parse_via.c", "proof of concept", "I plan to publish", "r.porter@reporter.example", "65535 bytes makes the parser write past the end"} {
			if strings.Contains(string(b), canary) {
				t.Errorf("%s contains %q from the report", path, canary)
			}
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	id := m[1]
	for _, want := range []string{"advisories/" + id + ".html", "advisories/x_DEMO-" + id + ".json", "advisories/CVE-2026-12345.json", "security/index.html"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("%s not written: %v", want, err)
		}
	}
	if n := len(files); m[2] != strconv.Itoa(n) {
		t.Errorf("the reply says %s files, the directory holds %d", m[2], n)
	}
}
