package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestHelpForEverySubcommand walks the subcommand table: each answers -h,
// -help, --help and `help NAME` on stdout with its usage, flags and
// examples, and exits 0.
func TestHelpForEverySubcommand(t *testing.T) {
	for _, s := range subcommands {
		words := strings.Fields(s.name)
		for _, args := range [][]string{
			append(append([]string{}, words...), "-h"),
			append(append([]string{}, words...), "--help"),
			append(append([]string{}, words...), "-help"),
			append([]string{"help"}, words...),
		} {
			code, out, errOut := runCLI(t, "", args...)
			if code != exitOK || errOut != "" || !strings.HasPrefix(out, "Usage: sectriage "+s.name) || !strings.Contains(out, "\nExamples:\n  sectriage ") {
				t.Errorf("sectriage %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
				continue
			}
			// The same names for the same things: every flag in the
			// synopsis is documented with its placeholder.
			for _, flag := range []string{"-config FILE", "-as PERSON"} {
				if strings.Contains(s.synopsis, flag) && !strings.Contains(out, "\n  "+flag+"\n") {
					t.Errorf("sectriage %s: help lacks flag %q:\n%s", strings.Join(args, " "), flag, out)
				}
			}
		}
	}
}

// TestUsageListsEachSubcommandOnce: the list is generated from the table.
func TestUsageListsEachSubcommandOnce(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "help"} {
		code, out, _ := runCLI(t, "", arg)
		if code != exitOK {
			t.Fatalf("%s: exit %d", arg, code)
		}
		for _, s := range subcommands {
			if n := strings.Count(out, "  sectriage "+s.name+" ") + strings.Count(out, "  sectriage "+s.name+"\n"); n != 1 {
				t.Errorf("%s lists %q %d times:\n%s", arg, s.name, n, out)
			}
		}
	}
	code, _, errOut := runCLI(t, "", "help", "frob")
	if code != exitUsage || !strings.Contains(errOut, `no subcommand "frob"`) {
		t.Errorf("help frob: exit %d %s", code, errOut)
	}
}

func TestBadFlagsSayWhereHelpIs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"run", "-confg", "x"}, exitUsage},
		{[]string{"check", "extra"}, exitUsage},
		{[]string{"backup", "-config", "x"}, exitUsage},
		{[]string{"ingest", "-frob"}, exitTempErr}, // the MTA keeps the message
		{[]string{"demo", "extra"}, exitUsage},
		{[]string{"mattermost", "frob"}, exitUsage},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, "usage: sectriage "+tc.args[0]) || !strings.Contains(errOut, "-h' for help") {
			t.Errorf("%q: exit %d (want %d)\n%s", tc.args, code, tc.code, errOut)
		}
	}
}

func TestVersionFlags(t *testing.T) {
	for _, arg := range []string{"version", "-v", "-version", "--version"} {
		code, out, _ := runCLI(t, "", arg)
		if code != exitOK || !strings.HasPrefix(out, "sectriage ") || !strings.Contains(out, "built with go") {
			t.Errorf("%s: exit %d %q", arg, code, out)
		}
	}
}

// TestVersionText: what a release build shows, from its build info.
func TestVersionText(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.7", Main: debug.Module{Path: "github.com/sectriage/sectriage", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-30T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	want := "sectriage v1.4.0\n  revision 0123456789abcdef0123456789abcdef01234567 (with uncommitted changes)\n" +
		"  commit time 2026-11-30T10:00:00Z\n  built with go1.26.7\n"
	if got := versionText(info); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := versionText(&debug.BuildInfo{GoVersion: "go1.26.7", Main: debug.Module{Version: "(devel)"}}); !strings.Contains(got, "sectriage (devel)\n  revision unknown: built without version control information") {
		t.Errorf("devel build: %s", got)
	}
}

// TestCmdTakesOneQuotedCommandLine: `cmd -as alice -- 'claim 1'` is the
// command line claim 1, as typed in chat.
func TestCmdTakesOneQuotedCommandLine(t *testing.T) {
	cfg := writeConfig(t)
	code, out, errOut := runCLI(t, "", "cmd", "-config", cfg, "-as", "bob", "--", "claim 1")
	if code != exitOK || !strings.Contains(out, "You claimed SEC-1") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "cmd", "-config", cfg, "-as", "bob", "--", `note 1 "seen on 5.8 too"`)
	if code != exitOK || !strings.Contains(out, "Noted on SEC-1.") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if out, _ := runCmd(t, cfg, "alice", "show", "1"); !strings.Contains(out, "note: seen on 5.8 too") {
		t.Fatalf("the quoted argument was not kept whole:\n%s", out)
	}
}
