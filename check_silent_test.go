package main

import (
	"database/sql"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/config"
)

// checkErrors returns the error lines of check's output, without prefix.
func checkErrors(out string) []string {
	var errs []string
	for _, l := range strings.Split(out, "\n") {
		if e, ok := strings.CutPrefix(l, "error:   "); ok {
			errs = append(errs, e)
		}
	}
	return errs
}

// wantOnlyErrors fails unless check exited 1 with one error per want,
// each containing its want, in order.
func wantOnlyErrors(t *testing.T, code int, out string, want ...string) {
	t.Helper()
	errs := checkErrors(out)
	ok := code == exitFailed && len(errs) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.Contains(errs[i], want[i])
	}
	if !ok {
		t.Fatalf("check: exit %d, want exit %d with errors %q\n%s", code, exitFailed, want, out)
	}
}

const ackNoSMTP = "[intake] acknowledge is on"

const nobodyTold = "nobody would be told about a new report: no chat platform is configured"

// Each case is a silent failure a new operator met: check exits 1 and
// names it.
func TestCheckCatchesSilentFailures(t *testing.T) {
	t.Run("no chat platform", func(t *testing.T) {
		code, out, _ := runCLI(t, "", "check", "-config", writeConfig(t))
		wantOnlyErrors(t, code, out, nobodyTold, ackNoSMTP)
	})
	t.Run("acknowledgements without SMTP", func(t *testing.T) {
		cfg, _ := intakeConfig(t, "")
		code, out, _ := runCLI(t, "", "check", "-config", cfg)
		wantOnlyErrors(t, code, out, nobodyTold, "[intake] acknowledge is on (the default) but there is no [email.smtp]")

		cfg, _ = intakeConfig(t, "[intake]\nacknowledge = true\n")
		code, out, _ = runCLI(t, "", "check", "-config", cfg)
		wantOnlyErrors(t, code, out, nobodyTold, "[intake] acknowledge is on ("+cfg+":21)")

		cfg, _ = intakeConfig(t, "[intake]\nacknowledge = false\n")
		code, out, _ = runCLI(t, "", "check", "-config", cfg)
		wantOnlyErrors(t, code, out, nobodyTold)
	})
	t.Run("listener in use", func(t *testing.T) {
		held, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		free := freeAddr(t)
		cfg, _ := intakeConfig(t, "[intake]\nacknowledge = false\n[server]\nlisten = \""+held.Addr().String()+"\"\nmetrics_listen = \""+free+"\"\n")
		code, out, _ := runCLI(t, "", "check", "-config", cfg)
		wantOnlyErrors(t, code, out, nobodyTold, "[server] listen "+held.Addr().String()+": listen tcp")
		if !strings.Contains(out, "ok:      [server] metrics_listen "+free+": free to bind") {
			t.Errorf("the free address is not reported free:\n%s", out)
		}
	})
	t.Run("roster differs from the config", func(t *testing.T) {
		path := writeRosterConfig(t, rosterConfig)
		if out, code := runCmd(t, path, "bob", "handover", "core", "erin"); code != exitOK {
			t.Fatalf("handover: %d %s", code, out)
		}
		code, out, _ := runCLI(t, "", "check", "-config", path)
		if !strings.Contains(out, "ok:      SIG core: the hand-over from bob to erin waits for erin to accept it") {
			t.Errorf("pending hand-over not shown:\n%s", out)
		}
		if out, code := runCmd(t, path, "erin", "accept", "handover", "core"); code != exitOK {
			t.Fatalf("accept: %d %s", code, out)
		}
		code, out, _ = runCLI(t, "", "check", "-config", path)
		wantOnlyErrors(t, code, out, nobodyTold, ackNoSMTP,
			"SIG core: the database says erin leads (hand-over accepted "+time.Now().UTC().Format(time.DateOnly)+"), the config says bob ("+path+":34); "+
				`the database wins while the config names bob. Reconcile: set lead = "erin" there, or hand back with `+"`handover core bob`")

		// Reconciled: the config names erin.
		writeFile(t, path, withTeamKey(t, filepath.Dir(path), strings.Replace(rosterConfig, `lead = "bob"`, `lead = "erin"`, 1)))
		code, out, _ = runCLI(t, "", "check", "-config", path)
		wantOnlyErrors(t, code, out, nobodyTold, ackNoSMTP)
		// The config moved on to someone else: it wins, and check says the hand-over no longer counts.
		writeFile(t, path, withTeamKey(t, filepath.Dir(path), strings.Replace(rosterConfig, `lead = "bob"`, `lead = "dave"`, 1)))
		code, out, _ = runCLI(t, "", "check", "-config", path)
		wantOnlyErrors(t, code, out, nobodyTold, ackNoSMTP)
		if !strings.Contains(out, "warning: SIG core: the hand-over to erin") || !strings.Contains(out, "the config now names dave") {
			t.Errorf("superseded hand-over not mentioned:\n%s", out)
		}
	})
	t.Run("damaged database", func(t *testing.T) {
		path := writeConfig(t)
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		dbPath := cfg.Resolve(cfg.Storage.Path)
		corruptIndexes(t, dbPath)
		code, out, _ := runCLI(t, "", "check", "-config", path)
		wantOnlyErrors(t, code, out, nobodyTold, ackNoSMTP, "database "+dbPath+": quick_check")
	})
}

// corruptIndexes breaks the incidents table's root page the way a torn
// write would: its page type byte becomes one SQLite does not know.
func corruptIndexes(t *testing.T, path string) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var root, pageSize int64
	if err := raw.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = 'incidents'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{0x7f, 0xff, 0xff, 0xff}, (root-1)*pageSize); err != nil {
		t.Fatal(err)
	}
}

// TestRunNamesTheListenerInUse: the daemon stops before it says it runs,
// naming the setting to change.
func TestRunNamesTheListenerInUse(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	cfg, _ := intakeConfig(t, "[server]\nlisten = \""+held.Addr().String()+"\"\n")
	code, _, errOut := runCLI(t, "", "run", "-config", cfg)
	if code != exitFailed || !strings.Contains(errOut, "sectriage: [server] listen "+held.Addr().String()+": listen tcp") ||
		strings.Contains(errOut, "running") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

// TestCheckListsOnlyConfiguredCallbacks: without Mattermost, check does
// not promise its callbacks; without a team key, no report form.
func TestCheckListsOnlyConfiguredCallbacks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sectriage.toml")
	if err := os.WriteFile(path, []byte(testConfig+"\n[server]\nlisten = \"127.0.0.1:0\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ := runCLI(t, "", "check", "-config", path)
	if !strings.Contains(out, "ok:      listener http://127.0.0.1:0: /healthz, /readyz; /metrics and readiness details to local clients only;") {
		t.Errorf("listener line:\n%s", out)
	}
	cfg, _ := intakeConfig(t, "[server]\nlisten = \"127.0.0.1:0\"\n")
	_, out, _ = runCLI(t, "", "check", "-config", cfg)
	if !strings.Contains(out, "ok:      listener http://127.0.0.1:0: reports (/report), the public key, /healthz, /readyz; /metrics and readiness details to local clients only;") {
		t.Errorf("listener line:\n%s", out)
	}
}

// TestCheckBesideTheRunningDaemon: the daemon's own listeners are in use,
// and that is no error: check runs beside it before a reload or upgrade.
func TestCheckBesideTheRunningDaemon(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	cfg, _ := intakeConfig(t, "[intake]\nacknowledge = false\n[server]\nlisten = \""+addr+"\"\ntls_cert_file = \"cert.pem\"\ntls_key_file = \"key.pem\"\nmetrics_listen = \""+metricsAddr+"\"\n")
	writeCert(t, filepath.Dir(cfg), "daemon", 90*24*time.Hour)
	d := startDaemon(t, cfg, io.Discard, nil)
	if d.Addrs["server.listen"].String() != addr || d.Addrs["server.metrics_listen"].String() != metricsAddr {
		t.Fatalf("bound %v", d.Addrs)
	}
	code, out, _ := runCLI(t, "", "check", "-config", cfg)
	wantOnlyErrors(t, code, out, nobodyTold)
	for _, want := range []string{
		"ok:      [server] listen " + addr + ": in use by a running sectriage (it answers /healthz)",
		"ok:      [server] metrics_listen " + metricsAddr + ": in use by a running sectriage (it answers /healthz)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckFindsPeopleNobodyCanPing: a person without an account on any
// configured platform would be asked to act and never hear of it.
func TestCheckFindsPeopleNobodyCanPing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sectriage.toml")
	writeFile(t, path, strings.Replace(testConfig, "role = \"officer\"\n", "role = \"officer\"\nirc_account = \"alice\"\n", 1)+`
[irc]
server = "`+freeAddr(t)+`"
triage_channel = { name = "#sec" }
`)
	_, out, _ := runCLI(t, "", "check", "-config", path)
	want := "error:   bob (" + path + ":11) has no account on irc: pings to bob (new incidents, deadlines, escalations) would reach nobody; set irc_account"
	if !strings.Contains(out, want) || strings.Contains(out, "alice ("+path) {
		t.Fatalf("check lacks %q, or names alice:\n%s", want, out)
	}
}

// TestCheckCountsPeopleNotifiedByMail: someone with notify = "email", an
// address, a key that encrypts and [email.smtp] hears of new reports with
// or without chat; without a usable key they hear nothing, and check says
// so.
func TestCheckCountsPeopleNotifiedByMail(t *testing.T) {
	key, err := fixtureKey()
	if err != nil {
		t.Fatal(err)
	}
	public, err := key.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	const erin = `
[[people]]
name = "erin"
role = "member"
email = "erin@example.org"
notify = "email"
key_file = "erin.asc"

[email.smtp]
address = "127.0.0.1:1"
from = "security@example.org"
`
	const irc = "\n[irc]\nserver = \"127.0.0.1:1\"\ntriage_channel = { name = \"#sec\" }\n"
	withIRC := strings.Replace(testConfig, "role = \"officer\"\n", "role = \"officer\"\nirc_account = \"alice\"\n", 1)
	for _, tc := range []struct {
		name, config, keyFile string
		oks, errs             []string
	}{
		{"no chat, erin by mail", testConfig + erin, string(public),
			[]string{"new reports reach erin by mail"},
			[]string{"alice (", "is on no chat platform", "bob ("}},
		{"no chat, erin's key unreadable", testConfig + erin, "not a key",
			nil, []string{"nobody would be told about a new report: no chat platform is configured and nobody is notified by mail"}},
		{"irc, erin by mail", withIRC + erin + irc, string(public),
			[]string{"new reports are announced on irc", "erin notified by mail"},
			[]string{"bob (", "has no account on irc"}},
		{"irc, erin's key missing", withIRC + erin + irc, "",
			[]string{"new reports are announced on irc"},
			[]string{"erin (", "is notified by mail, but people erin: key_file", "bob ("}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "sectriage.toml")
			writeFile(t, path, tc.config)
			if tc.keyFile != "" {
				writeFile(t, filepath.Join(dir, "erin.asc"), tc.keyFile)
			}
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			c := &checker{out: &out}
			checkReachable(c, cfg, time.Now())
			got := out.String()
			for _, want := range append(tc.oks, tc.errs...) {
				if !strings.Contains(got, want) {
					t.Errorf("check lacks %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, "error:   erin (") != strings.Contains(strings.Join(tc.errs, "|"), "erin (") {
				t.Errorf("erin is wrongly judged:\n%s", got)
			}
			// One error per unreachable person (or the one that says nobody is).
			wantErrs := 0
			for _, e := range tc.errs {
				if strings.HasSuffix(e, " (") || strings.HasPrefix(e, "nobody") {
					wantErrs++
				}
			}
			if c.errors != wantErrs {
				t.Errorf("%d errors, want %d:\n%s", c.errors, wantErrs, got)
			}
		})
	}
}
