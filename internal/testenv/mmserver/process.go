package mmserver

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is a child server process that the harness stops by its PID.
type process struct {
	name    string
	cmd     *exec.Cmd
	stopSig syscall.Signal // the server's "shut down cleanly" signal
	done    chan struct{}  // closed when the process has exited
	err     error          // cmd.Wait's result; read only after done
}

// startProcess starts cmd with its output appended to logPath.
//
// The child gets its own process group, so that a SIGKILL also reaches
// PostgreSQL's backends, and PDEATHSIG, so that it dies with the test binary
// when `go test -timeout` or a crash ends it before any t.Cleanup runs.
// (Linux delivers PDEATHSIG when the forking OS thread exits; the Go runtime
// keeps its threads unless a goroutine exits while locked to one.)
func startProcess(name string, cmd *exec.Cmd, logPath string, stopSig syscall.Signal, cred *syscall.Credential) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: cred,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, stopSig: stopSig, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends the clean-shutdown signal, waits up to grace, then kills the
// whole process group. It returns once the process has exited.
func (p *process) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(pid, p.stopSig)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-p.done
}

// poll calls ready every interval until it reports true, the process exits,
// or timeout passes. Readiness is polled because neither server offers a
// notification a test can wait on without extra plumbing.
func (p *process) poll(timeout time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v", p.name, timeout)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during startup: %v", p.name, p.err)
		case <-tick.C:
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago. It is
// testenv.FreePort returning an error instead of failing a test, because the
// shared server belongs to no single test. Callers retry on "address in use".
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs a short helper command (initdb, pg_basebackup, cp) and
// returns its output in the error when it fails.
func run(cred *syscall.Credential, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = childEnv()
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// childEnv is the test's environment without the variables that would
// silently reconfigure a child: MM_* overrides every Mattermost setting,
// PG* redirects pg_basebackup, NOTIFY_SOCKET would talk to systemd.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MM_") || strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// tail returns the last n lines of a log file, for failure messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logSize is where a log file ends now, so that a later check reads only
// what one start attempt wrote.
func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// addrInUse reports whether a server's log, from offset on, says it lost the
// race for its port, so the caller should retry on another one.
func addrInUse(path string, offset int64) bool {
	b, _ := os.ReadFile(path)
	if int64(len(b)) < offset {
		offset = 0
	}
	return bytes.Contains(bytes.ToLower(b[offset:]), []byte("address already in use"))
}
