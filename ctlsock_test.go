package main

import (
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sectriage/sectriage/control"
)

// TestIngestAndCmdWithAndWithoutDaemon runs the same deliveries and
// commands against a config with no daemon and one with `sectriage run`
// serving the control socket: exit codes and output must not differ, and
// -v must say who did the work.
func TestIngestAndCmdWithAndWithoutDaemon(t *testing.T) {
	transcript := map[string][]string{}
	for _, mode := range []string{"in-process", "daemon"} {
		cfg, key := intakeConfig(t, "\n[intake]\nmax_message_size = \"16KiB\"\n")
		if mode == "daemon" {
			startDaemon(t, cfg, &syncBuffer{}, nil) // its control socket is bound before Ready
		}
		var lines []string
		step := func(name, stdin string, args ...string) {
			code, out, errOut := runCLI(t, stdin, args...)
			out = clockTimes.ReplaceAllString(out, "TIME")
			lines = append(lines, fmt.Sprintf("%s: exit %d, stdout %q", name, code, out))
			want := "doing it in this process"
			if mode == "daemon" {
				want = "handed to the daemon"
			}
			if args[1] == "-v" && !strings.Contains(errOut, want) {
				t.Errorf("%s %s: -v says %q", mode, name, errOut)
			}
			if code != exitOK {
				lines = append(lines, "  stderr "+errOut)
			}
		}
		good := string(encryptedMail(t, key, "one@example.net", "Path traversal in /download", "CANARY ../../etc/passwd"))
		step("report", good, "ingest", "-v", "-config", cfg)
		step("re-delivery", good, "ingest", "-config", cfg)
		step("garbage", "Subject: hi\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\ngarbage\r\n-----END PGP MESSAGE-----\r\n", "ingest", "-config", cfg)
		big := "From: someone@example.net\r\nMessage-ID: <big@example.net>\r\nSubject: big\r\n\r\n" + strings.Repeat("A", 64<<10)
		step("oversized", big, "ingest", "-config", cfg)
		step("list", "", "cmd", "-v", "-config", cfg, "-as", "alice", "--", "list", "open")
		step("show", "", "cmd", "-config", cfg, "-as", "alice", "--", "show", "1")
		step("claim", "", "cmd", "-config", cfg, "-as", "bob", "--", "claim", "1")
		step("outsider", "", "cmd", "-config", cfg, "-as", "mallory", "--", "show", "1")
		step("unknown command", "", "cmd", "-config", cfg, "-as", "alice", "--", "frobnicate")
		transcript[mode] = lines
	}
	if diff := cmp.Diff(transcript["in-process"], transcript["daemon"]); diff != "" {
		t.Fatalf("with and without the daemon differ (-in-process +daemon):\n%s", diff)
	}
	t.Logf("transcript:\n%s", strings.Join(transcript["daemon"], "\n"))
	if !strings.Contains(strings.Join(transcript["daemon"], "\n"), "CANARY") {
		t.Fatalf("show did not show the decrypted report:\n%s", strings.Join(transcript["daemon"], "\n"))
	}
}

// clockTimes are the times replies show, which may cross a minute between
// the two runs.
var clockTimes = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d|\(in [0-9dhm]+\)`)

// TestLockedDatabaseWithAndWithoutDaemon: while another process holds the
// database's write lock past the busy timeout (10 s), ingest exits 75 and
// a command that only reads still answers, whether the daemon or the
// process itself does the work. (A command that writes fails after the
// timeout both ways too; the daemon serialises its writes, so testing it
// here would double the wait.) Both modes run at once, so the test waits
// one busy timeout.
func TestLockedDatabaseWithAndWithoutDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the database's 10 s busy timeout")
	}
	type result struct {
		mode           string
		ingest, list   int
		listed, errOut string
	}
	results := make(chan result, 2)
	for _, mode := range []string{"in-process", "daemon"} {
		cfg, key := intakeConfig(t, "")
		if code, _, errOut := runCLI(t, string(encryptedMail(t, key, "first@example.net", "s", "b")), "ingest", "-config", cfg); code != exitOK {
			t.Fatalf("setup: %d %s", code, errOut)
		}
		if mode == "daemon" {
			startDaemon(t, cfg, &syncBuffer{}, nil) // its control socket is bound before Ready
		}
		lock, err := sql.Open("sqlite", "file:"+filepath.Join(filepath.Dir(cfg), "st.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		lock.SetMaxOpenConns(1)
		if _, err := lock.Exec(`BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		defer lock.Exec(`ROLLBACK`)
		msg := string(encryptedMail(t, key, "second@example.net", "s", "b"))
		go func() {
			r := result{mode: mode}
			listed := make(chan struct{})
			go func() {
				r.list, r.listed, r.errOut = runCLI(t, "", "cmd", "-config", cfg, "-as", "bob", "--", "list", "open")
				close(listed)
			}()
			r.ingest, _, _ = runCLI(t, msg, "ingest", "-config", cfg)
			<-listed
			results <- r
		}()
	}
	for range 2 {
		r := <-results
		if r.ingest != exitTempErr || r.list != exitOK || !strings.Contains(r.listed, "SEC-1") {
			t.Errorf("%s: ingest exit %d (want %d), list exit %d %q %s", r.mode, r.ingest, exitTempErr, r.list, r.listed, r.errOut)
		}
	}
}

// TestIngestAndCmdWhenTheDaemonDiesMidRequest: a daemon that drops the
// connection before answering (killed, crashed) leaves ingest exiting 75,
// so the MTA keeps the message, and cmd failing without claiming either
// outcome; neither falls back to doing it again itself.
func TestIngestAndCmdWhenTheDaemonDiesMidRequest(t *testing.T) {
	cfg, key := intakeConfig(t, "")
	ln, err := net.Listen("unix", filepath.Join(filepath.Dir(cfg), control.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}))
	code, out, _ := runCLI(t, string(encryptedMail(t, key, "a@example.net", "s", "b")), "ingest", "-config", cfg)
	if code != exitTempErr || out != "" {
		t.Errorf("ingest: exit %d %q, want %d", code, out, exitTempErr)
	}
	code, _, errOut := runCLI(t, "", "cmd", "-config", cfg, "-as", "alice", "--", "claim", "1")
	if code != exitFailed || !strings.Contains(errOut, "may or may not have run") {
		t.Errorf("cmd: exit %d %s", code, errOut)
	}
	// Nothing was done in this process instead: no database was made.
	code, out, _ = runCLI(t, "", "backup", "-config", cfg, filepath.Join(t.TempDir(), "copy.db"))
	if code != exitOK || !strings.Contains(out, "0 incidents") {
		t.Errorf("after the failed hand-overs the database holds: %d %s", code, out)
	}
}
