package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLockOneInstance: a second claim on the same database, made through
// a second open file as a second process would, is refused with the
// first one's pid; once the first lets go, the next claim succeeds.
func TestLockOneInstance(t *testing.T) {
	db := filepath.Join(t.TempDir(), "st.db")
	first, err := acquireInstanceLock(db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = acquireInstanceLock(db)
	if err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second claim: %v", err)
	}
	fi, err := os.Stat(lockPath(db))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v", fi, err)
	}
	if err := first.release(); err != nil {
		t.Fatal(err)
	}
	again, err := acquireInstanceLock(db)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.release()
}

// TestLockSecondDaemon runs the daemon, then `run` again on the same
// config: the second exits non-zero at once, naming the first one's pid,
// and the first keeps serving.
func TestLockSecondDaemon(t *testing.T) {
	addr := freeAddr(t)
	cfg, _ := intakeConfig(t, `
[server]
listen = "`+addr+`"
public_url = "http://`+addr+`"
`)
	d := startDaemon(t, cfg, &syncBuffer{}, nil)

	var second strings.Builder
	code := run(context.Background(), []string{"run", "-config", cfg}, strings.NewReader(""), io.Discard, &second)
	want := "another sectriage (pid " + strconv.Itoa(os.Getpid()) + ") is running on this database"
	if code != exitFailed || !strings.Contains(second.String(), want) {
		t.Fatalf("second daemon: exit %d, %q; want %d and %q", code, second.String(), exitFailed, want)
	}
	// The first keeps serving: it answers at once, no retry.
	resp, err := http.Get(d.base() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the first daemon's /healthz: %d", resp.StatusCode)
	}
}
