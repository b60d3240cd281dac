package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/config"
)

// liveDaemon is the daemon run in-process as `sectriage run` runs it, held
// by a test as WTF Dial's main_test.go holds its Main.
type liveDaemon struct {
	*daemon
	t      testing.TB
	log    io.Writer
	cancel context.CancelFunc
	done   chan error // Run's result, sent once
	once   sync.Once
}

// openTestDaemon loads the config at path and opens its daemon as cmdRun
// does, logging to log; reload may be nil. Close is left to the caller
// (startDaemon's stop does it).
func openTestDaemon(t testing.TB, path string, log io.Writer, reload <-chan os.Signal) (*daemon, error) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	l, level := newLevelLogger(cfg.Log, log)
	return openDaemon(context.Background(), cfg, l, daemonOptions{path: path, level: level, reload: reload})
}

// startDaemon opens the daemon of the config at path, runs it and returns
// once it is Ready. The test's cleanup stops it and fails the test unless
// it stopped cleanly.
func startDaemon(t testing.TB, path string, log io.Writer, reload <-chan os.Signal) *liveDaemon {
	t.Helper()
	d, err := openTestDaemon(t, path, log, reload)
	if err != nil {
		t.Fatalf("open: %v%s", err, logOf(log))
	}
	ctx, cancel := context.WithCancel(context.Background())
	ld := &liveDaemon{daemon: d, t: t, log: log, cancel: cancel, done: make(chan error, 1)}
	go func() { ld.done <- d.Run(ctx) }()
	t.Cleanup(func() {
		if err := ld.stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-d.Ready():
	case err := <-ld.done:
		ld.done <- err // for stop
		t.Fatalf("the daemon stopped before it was ready: %v%s", err, logOf(log))
	case <-time.After(30 * time.Second):
		t.Fatalf("not ready after 30s: %s%s", readinessOf(d), logOf(log))
	}
	return ld
}

// stop ends Run, waits for it and closes the daemon; it returns Run's
// error, or Close's. Only the first call does anything, so the error is
// reported once: by the test that stops it, else by the cleanup.
func (ld *liveDaemon) stop() (err error) {
	ld.once.Do(func() {
		ld.cancel()
		select {
		case err = <-ld.done:
		case <-time.After(20 * time.Second):
			err = errors.New("did not stop within 20s of its context ending")
		}
		if cerr := ld.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	})
	return err
}

// base is the main listener's URL.
func (ld *liveDaemon) base() string { return "http://" + ld.Addrs["server.listen"].String() }

// logOf is the daemon's log for a failure message, when the test keeps it.
func logOf(w io.Writer) string {
	if s, ok := w.(fmt.Stringer); ok {
		return "\n" + s.String()
	}
	return ""
}

// readinessOf says which readiness checks fail, for a daemon that is not
// ready in time.
func readinessOf(d *daemon) string {
	var b strings.Builder
	for _, r := range d.Health.Check(context.Background()) {
		fmt.Fprintf(&b, "%s: %v; ", r.Name, r.Err)
	}
	return b.String()
}

func TestRunStopsGracefully(t *testing.T) {
	cfg := writeConfig(t)
	errOut := &syncBuffer{}
	d := startDaemon(t, cfg, errOut, nil) // the daemon says when it runs; no log is read for it
	if err := d.stop(); err != nil || !strings.Contains(errOut.String(), "sectriage stopped") {
		t.Fatalf("run: %v: %s", err, errOut.String())
	}
}

// TestDaemonReadyMeansServing: once Ready is closed the listener answers,
// with no retry.
func TestDaemonReadyMeansServing(t *testing.T) {
	cfg, _ := intakeConfig(t, "[server]\nlisten = \"127.0.0.1:0\"\n")
	d := startDaemon(t, cfg, io.Discard, nil)
	resp, err := http.Get(d.base() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz right after Ready: %d", resp.StatusCode)
	}
	if d.ControlSocket == "" {
		t.Error("no control socket")
	}
}

// TestOpenDaemonNamesTheBusySetting: a listener address in use fails Open,
// naming the setting, and leaves nothing held: the lock is free again.
func TestOpenDaemonNamesTheBusySetting(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg, _ := intakeConfig(t, "[server]\nlisten = \""+busy.Addr().String()+"\"\n")
	if d, err := openTestDaemon(t, cfg, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "[server] listen "+busy.Addr().String()) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("open on a busy address: %v", err)
	}
	busy.Close()
	startDaemon(t, cfg, io.Discard, nil) // the failed Open released the lock and the database
}

// TestDaemonNotReadyWithoutItsChat: Ready waits for every configured part.
// With an IRC server that never answers, the listener serves and /readyz
// says irc fails; Ready, which the listener alone would have closed by
// then, stays open.
func TestDaemonNotReadyWithoutItsChat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sectriage.toml")
	writeFile(t, path, withTeamKey(t, dir, strings.Replace(testConfig, "role = \"officer\"\n", "role = \"officer\"\nirc_account = \"alice\"\n", 1)+`
[server]
listen = "127.0.0.1:0"

[irc]
server = "`+freeAddr(t)+`"
triage_channel = { name = "#sec" }
`))
	d, err := openTestDaemon(t, path, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	// Bound by Open: this waits in the backlog until the listener serves.
	resp, err := http.Get("http://" + d.Addrs["server.listen"].String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "fail irc") {
		t.Errorf("/readyz without IRC: %d %q", resp.StatusCode, body)
	}
	select {
	case <-d.Ready():
		t.Error("Ready closed while IRC is not connected")
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	select {
	case <-d.Ready():
		t.Error("Ready closed by the stop")
	default:
	}
}

// TestRunExitCodesOfOpen: what Open refuses keeps the exit code it had
// before the daemon was a value: a setting to fix is a usage error (2),
// a resource that fails is a failure (1); both are printed once.
func TestRunExitCodesOfOpen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name, server string
		code         int
		want         string
	}{
		{"missing certificate", "listen = \"127.0.0.1:0\"\ntls_cert_file = \"none.pem\"\ntls_key_file = \"none-key.pem\"\n", exitUsage, "none.pem"},
		{"address in use", "listen = \"" + busy.Addr().String() + "\"\n", exitFailed, "[server] listen " + busy.Addr().String()},
	} {
		cfg, _ := intakeConfig(t, "[server]\n"+c.server)
		code, _, errOut := runCLI(t, "", "run", "-config", cfg)
		if code != c.code || !strings.Contains(errOut, "sectriage: ") || !strings.Contains(errOut, c.want) || strings.Count(errOut, c.want) != 1 {
			t.Errorf("%s: exit %d, want %d and %q once:\n%s", c.name, code, c.code, c.want, errOut)
		}
	}
}
