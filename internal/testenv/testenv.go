// Package testenv holds what the integration tests share: the rule that a
// missing external dependency skips a test on a laptop but fails it in CI,
// and helpers to start real servers on loopback.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") != "" }

// Unavailable skips the test on a developer machine and fails it in CI.
// Use it for every missing server, binary or package.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI is set and a test dependency is missing: "+format, args...)
	}
	t.Skipf("skipping (set CI=1 to make this a failure): "+format, args...)
}

// RealServer skips the test under go test -short, CI or not: the short
// run is the fast loop, and it starts no real server, builds no binary and
// runs no gpg. Every harness that does one of these calls it first.
func RealServer(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: needs %s", what)
	}
}

// LookPath returns the full path of an executable or marks the test
// Unavailable, naming the Debian package that provides it.
func LookPath(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		// Debian puts daemons in /usr/sbin, which a non-root PATH may lack.
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if _, statErr := os.Stat(dir + "/" + name); statErr == nil {
				return dir + "/" + name
			}
		}
		Unavailable(t, "%s not found (apt-get install %s, or run scripts/test.sh)", name, debianPackage)
	}
	return p
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// servers that cannot listen on port 0 themselves. There is a small race
// between closing and the server binding; callers retry on "address in use".
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// CPUTime is the CPU time this process has used, user and system: the
// benchmarks' cpu-µs figures, steadier than wall time on a shared machine.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// SystemTime is the part of CPUTime spent in the kernel (system calls:
// for intake, the WAL's writes and its fsync), which varies most from
// machine to machine, a virtual one above all.
func SystemTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Stime.Nano())
}
