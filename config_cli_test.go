package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckNamesEveryConfigProblemAtOnce: a wrong type no longer hides
// the misspelled keys and validation problems of the same file.
func TestCheckNamesEveryConfigProblemAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sectriage.toml")
	src := testConfig + "\n[server]\nlisten = 8080\nmax_body_sise = \"1MiB\"\n\n[log]\nlevel = \"loud\"\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "", "check", "-config", path)
	want := []string{
		path + `:18: server.listen: wrong type: a number is written where a string ("...") is wanted`,
		path + `:19: server.max_body_sise: unknown key; did you mean max_body_size?`,
		path + `:22: log.level: must be debug, info, warn or error, not "loud"`,
	}
	wantOnlyErrors(t, code, out, want...)
	// The daemon refuses the same file with the same list.
	code, _, errOut := runCLI(t, "", "run", "-config", path)
	if code != exitUsage || strings.Count(errOut, path+":") != len(want) {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
}
