package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rosterConfig is a config as an operator would write it: core hands off
// weekly on Mondays at 09:00 in Berlin. Europe starts summer time on Sunday
// 2031-03-30, so Monday's hand-off is at 07:00 UTC after it and at 08:00 UTC
// the week before. Week 0 (bob) starts on 2026-01-05; 2031-03-24 begins
// week 272 (bob), 2031-03-31 week 273 (erin).
const rosterConfig = `
timezone = "UTC"

[storage]
path = "roster.db"

[[people]]
name = "alice"
role = "officer"

[[people]]
name = "carol"
role = "officer"

[[people]]
name = "bob"
role = "member"
timezone = "Europe/Berlin"

[[people]]
name = "erin"
role = "member"

[[people]]
name = "dave"
role = "member"

[officers]
rotation = { every = "weekly", handoff = "Mon 09:00", members = ["alice", "carol"], start = "2026-01-05" }

[[sigs]]
name = "core"
default = true
lead = "bob"
deputies = ["dave"]
contacts = ["bob", "erin", "dave"]
rotation = { every = "weekly", handoff = "Mon 09:00", timezone = "Europe/Berlin", members = ["bob", "erin"], start = "2026-01-05" }
`

func writeRosterConfig(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "sectriage.toml")
	if err := os.WriteFile(path, []byte(withTeamKey(t, dir, src)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCmd runs `sectriage cmd -config path -as who -- words...` in-process.
func runCmd(t *testing.T, path, who string, words ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	args := append([]string{"cmd", "-config", path, "-as", who, "--"}, words...)
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), code
}

func TestOncallAcrossDSTHandoff(t *testing.T) {
	path := writeRosterConfig(t, rosterConfig)
	for _, tc := range []struct {
		as, at, want string
	}{
		{"alice", "2031-03-24T07:59Z", "core: erin ("}, // Monday before the change: 08:59 CET
		{"alice", "2031-03-24T08:00Z", "core: bob ("},  // 09:00 CET
		{"alice", "2031-03-31T06:59Z", "core: bob ("},  // 08:59 CEST, after the change
		{"alice", "2031-03-31T07:00Z", "core: erin ("}, // 09:00 CEST
		// bob writes Berlin time, which is what the rotation is kept in.
		{"bob", "2031-03-31 08:59", "core: bob ("},
		{"bob", "2031-03-31 09:00", "core: erin ("},
	} {
		out, code := runCmd(t, path, tc.as, "oncall", "core", "at", tc.at)
		if code != exitOK || !strings.Contains(out, tc.want) {
			t.Errorf("oncall core at %s as %s: exit %d\n%s\nwant %q", tc.at, tc.as, code, out, tc.want)
		}
	}
	out, _ := runCmd(t, path, "alice", "oncall", "core", "at", "2031-03-31T06:59Z")
	if !strings.Contains(out, "until 2031-03-31 07:00 UTC, then erin") {
		t.Errorf("the answer should name the next hand-off:\n%s", out)
	}
}

func TestCoverThenOncall(t *testing.T) {
	path := writeRosterConfig(t, rosterConfig)
	out, code := runCmd(t, path, "erin", "cover", "core", "dave", "from", "2031-04-01", "until", "2031-04-03")
	if code != exitFailed || !strings.Contains(out, "Only the lead of SIG core (bob) or a security officer") {
		t.Fatalf("erin may not cover core: exit %d\n%s", code, out)
	}
	out, code = runCmd(t, path, "alice", "cover", "core", "dave", "from", "2031-04-01", "until", "2031-04-03")
	if code != exitOK || !strings.Contains(out, "dave covers core from 2031-04-01 00:00 UTC until 2031-04-03 00:00 UTC") {
		t.Fatalf("cover: exit %d\n%s", code, out)
	}
	// Each cmd is a new process: the cover must come back from the database.
	for _, tc := range []struct{ at, want string }{
		{"2031-03-31T23:59Z", "core: erin (rotation"},
		{"2031-04-01T00:00Z", "core: dave (cover set by alice) until 2031-04-03 00:00 UTC, then erin"},
		{"2031-04-02T12:00Z", "core: dave (cover set by alice)"},
		{"2031-04-03T00:00Z", "core: erin (rotation"},
	} {
		out, code := runCmd(t, path, "erin", "oncall", "core", "at", tc.at)
		if code != exitOK || !strings.Contains(out, tc.want) {
			t.Errorf("oncall core at %s: exit %d\n%s\nwant %q", tc.at, code, out, tc.want)
		}
	}
	out, _ = runCmd(t, path, "alice", "roster", "core")
	if !strings.Contains(out, "dave covers core from 2031-04-01 00:00 UTC until 2031-04-03 00:00 UTC (set by alice)") {
		t.Errorf("roster should list the cover:\n%s", out)
	}
}

func TestCheckNamesRosterProblems(t *testing.T) {
	bad := strings.Replace(rosterConfig, `members = ["bob", "erin"]`, `members = ["bob", "zed"]`, 1)
	bad = strings.Replace(bad, `timezone = "Europe/Berlin", members`, `timezone = "Europe/Nowhere", members`, 1)
	bad += "\n[schedules]\nsweep = \"CRON_TZ=UTC\"\n"
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"check", "-config", writeRosterConfig(t, bad)}, strings.NewReader(""), &out, &errOut)
	if code != exitFailed {
		t.Fatalf("check exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{
		`sectriage.toml:37: sigs[1].rotation.timezone: unknown time zone "Europe/Nowhere"`,
		`sectriage.toml:37: sigs[1].rotation.members[2]: "zed" is not declared in [[people]]`,
		`sectriage.toml:40: schedules.sweep: bad schedule: "CRON_TZ=UTC" names a time zone but no schedule after it`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoAdvanceEscalates is the demo check: advancing past the
// sample incident's acknowledge deadline prints the escalation and who was
// pinged, after the reply, in order.
func TestDemoAdvanceEscalates(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"demo"}, strings.NewReader("advance 49h\n"), &out, &errOut)
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s%s", code, out.String(), errOut.String())
	}
	s := out.String()
	reply := strings.Index(s, "The clock is now")
	escalated := strings.Index(s, "SEC-1: acknowledge deadline passed 1h ago; escalated to the security officers: ")
	pinged := strings.Index(s, "] @carol escalation to the security officers: SEC-1")
	if reply < 0 || escalated < reply || pinged < reply {
		t.Fatalf("advance 49h should print the reply, then the escalation and the pings:\n%s", s)
	}
}
