package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadReportsEverythingAtOnce: a wrong type used to hide every other
// problem of the file. Now one run names each wrong value, each unknown
// key (with the likely spelling) and each validation problem, in file
// order, with line and key.
func TestLoadReportsEverythingAtOnce(t *testing.T) {
	src := `timezone = 5
[storage]
path = "x.db"

[[people]]
name = "alice"
role = "officer"
timezon = "UTC"

[[people]]
name = "bob"
role = "boss"
quiet_hours = 22

[[sigs]]
name = "core"
lead = "alice"
default = true
rotation = { every = 7, members = ["alice"] }

[deadlines]
triage = "5 days"
stael = "30d"

[server]
listne = "127.0.0.1:8080"
`
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("Load: %v", err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, strings.TrimPrefix(p.String(), path))
	}
	want := []string{
		`:1: timezone: wrong type: a number is written where a string ("...") is wanted`,
		`:8: people[1].timezon: unknown key; did you mean timezone?`,
		`:12: people[2].role: must be officer or member, not "boss"`,
		`:13: people[2].quiet_hours: wrong type: a number is written where a string ("...") is wanted`,
		`:19: sigs[1].rotation.every: wrong type: a number is written where a string ("...") is wanted`,
		`:22: deadlines.triage: bad duration "5 days": unknown unit ' ' (use w, d, h, m or s)`,
		`:23: deadlines.stael: unknown key; did you mean stale?`,
		`:26: server.listne: unknown key; did you mean listen?`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestLoadStopsAtTheFirstSyntaxError: after a syntax error the rest of the
// file cannot be read reliably, so that is all that is said; likewise
// once removing a wrong value spanning lines breaks the syntax.
func TestLoadStopsAtTheFirstSyntaxError(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"syntax", "[storage\npath = 1\nnope = 2\n", []string{`:2: expected '.' or ']' to end table name, but got '\n' instead`}},
		{"multi-line value", "[storage]\npath = [\n 1,\n]\n[server]\nlisne = \"x\"\n",
			[]string{`:2: storage.path: wrong type: an array is written where a string ("...") is wanted`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ps := parse([]byte(tc.src), "s.toml")
			var got []string
			for _, p := range ps {
				got = append(got, strings.TrimPrefix(p.String(), "s.toml"))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	for key, want := range map[string]string{
		"irc.sevrer":            "server",
		"people.matermost":      "mattermost",
		"sigs.rotation.evrey":   "every",
		"mattermost.url_base":   "",
		"intake.acknowledgment": "acknowledge",
		"storag":                "storage",
	} {
		if got := suggest(strings.Split(key, ".")); got != want {
			t.Errorf("suggest(%s) = %q, want %q", key, got, want)
		}
	}
}

// TestFullReportDefaultFollowsThePlatforms: an IRC-only desk is not told
// to look in Mattermost.
func TestFullReportDefaultFollowsThePlatforms(t *testing.T) {
	irc := "\n[irc]\nserver = \"irc.example.org:6697\"\n"
	mm := "\n[mattermost]\nurl = \"https://chat.example.org\"\n"
	for _, tc := range []struct{ src, want string }{
		{minimal + irc, FullReportHost},
		{minimal + irc + mm, FullReportMattermost},
		{minimal + irc + "full_report = \"ask alice\"\n", "ask alice"},
	} {
		cfg, err := Parse([]byte(tc.src), "f.toml")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.IRC.FullReport != tc.want {
			t.Errorf("full_report = %q, want %q\n%s", cfg.IRC.FullReport, tc.want, tc.src)
		}
	}
	if strings.Contains(FullReportHost, "Mattermost") {
		t.Error("the IRC-only pointer mentions Mattermost")
	}
}
