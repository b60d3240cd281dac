package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv"
)

// binDir holds the binary built for this test run; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sectriage-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// built is the binary, made once per test run by the first test that
// needs it: tests skipped on a laptop do not pay for the build.
var built = sync.OnceValues(func() (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build the binary: %w", err)
	}
	out := filepath.Join(binDir, "sectriage")
	// The module root is the parent of this package's directory, where go
	// test runs us.
	cmd := exec.Command(gobin, "build", "-o", out, "..")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, msg)
	}
	return out, nil
})

// binary returns the path of the real sectriage binary.
func binary(t testing.TB) string {
	t.Helper()
	testenv.RealServer(t, "the sectriage binary built")
	bin, err := built()
	if errors.Is(err, exec.ErrNotFound) {
		testenv.Unavailable(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// logLine is one line a child process wrote, with when the test read it.
type logLine struct {
	At   time.Time
	Text string
}

// feed is an append-only list that goroutines fill and tests wait on
// without consuming: each wait scans everything from the start, so waits
// for several events in any order never skip each other's.
type feed[T any] struct {
	mu     sync.Mutex
	items  []T
	grew   chan struct{} // closed and replaced on every add
	closed bool
}

func newFeed[T any]() *feed[T] { return &feed[T]{grew: make(chan struct{})} }

func (f *feed[T]) add(v T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, v)
	close(f.grew)
	f.grew = make(chan struct{})
}

// close says no more items will come.
func (f *feed[T]) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.grew)
	}
}

func (f *feed[T]) all() []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]T(nil), f.items...)
}

// wait returns the first item, present or to come within timeout, that
// matches. ok is false on timeout or when the feed closed without one.
func (f *feed[T]) wait(timeout time.Duration, match func(T) bool) (item T, ok bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	checked := 0
	for {
		f.mu.Lock()
		items, grew, closed := f.items[checked:], f.grew, f.closed
		f.mu.Unlock()
		for _, it := range items {
			if match(it) {
				return it, true
			}
		}
		checked += len(items)
		if closed {
			return item, false
		}
		select {
		case <-grew:
		case <-timer.C:
			return item, false
		}
	}
}

// daemon is `sectriage run` as a child process.
type daemon struct {
	cmd     *exec.Cmd
	started time.Time
	log     *feed[logLine]
	exited  chan struct{}
	waitErr error // set before exited is closed
}

// startDaemon starts `sectriage run -config config`. The test's cleanup
// stops it by its PID (see stop) and shows its log if the test failed.
func startDaemon(t testing.TB, config string) *daemon {
	t.Helper()
	cmd := exec.Command(binary(t), "run", "-config", config)
	cmd.Dir = filepath.Dir(config)
	cmd.Env = childEnv()
	// Should the test binary die without its cleanups, the daemon goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	d := &daemon{cmd: cmd, log: newFeed[logLine](), exited: make(chan struct{})}
	d.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sectriage run: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			d.log.add(logLine{At: time.Now(), Text: sc.Text()})
		}
		d.log.close()
		d.waitErr = cmd.Wait() // after the pipe is read to its end, as Wait requires
		close(d.exited)
	}()
	t.Cleanup(func() {
		if d.running() {
			d.stop(t)
		}
		if t.Failed() {
			t.Logf("sectriage run log:\n%s", d.logText())
		}
	})
	return d
}

// childEnv keeps secrets of the test's environment from reaching the
// child: sectriage must read them from the files the config names.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SECTRIAGE_") {
			env = append(env, kv)
		}
	}
	return env
}

func (d *daemon) running() bool {
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

func (d *daemon) logText() string {
	var b strings.Builder
	for _, l := range d.log.all() {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

// waitLog returns the first log line that contains every one of parts,
// failing the test after timeout or if the daemon exits first.
func (d *daemon) waitLog(t testing.TB, timeout time.Duration, parts ...string) logLine {
	t.Helper()
	l, ok := d.log.wait(timeout, func(l logLine) bool {
		for _, p := range parts {
			if !strings.Contains(l.Text, p) {
				return false
			}
		}
		return true
	})
	if !ok {
		if !d.running() {
			t.Fatalf("sectriage run exited (%v) before logging %q", d.waitErr, parts)
		}
		t.Fatalf("sectriage run did not log %q within %v", parts, timeout)
	}
	return l
}

// waitReady waits for the log lines that say every configured part is up:
// the listener, the mailbox, IRC (in the triage channel) and Mattermost.
// There is no /readyz on main yet; this is what an operator would watch.
func (d *daemon) waitReady(t testing.TB, timeout time.Duration) time.Time {
	t.Helper()
	var last time.Time
	for _, r := range readyLines {
		if l := d.waitLog(t, timeout, r.parts...); l.At.After(last) {
			last = l.At
		}
	}
	return last
}

// readyLines are the log lines of a daemon that is up, by part.
var readyLines = []struct {
	part  string
	parts []string // what the line contains
}{
	{"running", []string{"sectriage running"}}, // config, team key, database
	{"http", []string{"HTTP listener up"}},
	{"imap", []string{"watching mailbox", "idle=true"}},
	{"irc", []string{"joined IRC channel"}},
	{"mattermost", []string{"connected to Mattermost"}},
	{"websocket", []string{"websocket connected"}},
}

// stop sends SIGTERM and checks that the daemon stops by itself, cleanly
// (exit 0, "sectriage stopped") and in time; it is killed otherwise.
func (d *daemon) stop(t testing.TB) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM to sectriage run: %v", err)
	}
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		t.Errorf("sectriage run did not stop within 20 s of SIGTERM; killed")
		return
	}
	if d.waitErr != nil {
		t.Errorf("sectriage run after SIGTERM: %v (want exit 0)", d.waitErr)
	}
	if _, ok := d.log.wait(0, func(l logLine) bool { return strings.Contains(l.Text, "sectriage stopped") }); !ok {
		t.Errorf("sectriage run did not log that it stopped")
	}
}

// rssKiB reads the daemon's resident set size from /proc (VmRSS), and its
// peak (VmHWM).
func (d *daemon) rssKiB(t testing.TB) (rss, peak int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("reading the daemon's memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var v int64
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &v); err == nil {
			rss = v
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &v); err == nil {
			peak = v
		}
	}
	if rss == 0 {
		t.Fatalf("no VmRSS in /proc/%d/status", d.cmd.Process.Pid)
	}
	return rss, peak
}

// result is what a short-lived sectriage command did.
type result struct {
	code           int
	stdout, stderr string
}

// runBinary runs one sectriage subcommand to completion.
func runBinary(t testing.TB, stdin []byte, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = childEnv()
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
	case err != nil:
		t.Fatalf("sectriage %s: %v", strings.Join(args, " "), err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}
}
