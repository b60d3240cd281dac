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
	"time"
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
	ctx, cancel := context.WithCancel(context.Background())
	errOut := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run", "-config", cfg}, strings.NewReader(""), io.Discard, errOut) }()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("first daemon exited %d:\n%s", code, errOut.String())
		}
	}()
	waitHealthy(t, "http://"+addr, errOut)

	var second strings.Builder
	code := run(context.Background(), []string{"run", "-config", cfg}, strings.NewReader(""), io.Discard, &second)
	want := "another sectriage (pid " + strconv.Itoa(os.Getpid()) + ") is running on this database"
	if code != exitFailed || !strings.Contains(second.String(), want) {
		t.Fatalf("second daemon: exit %d, %q; want %d and %q", code, second.String(), exitFailed, want)
	}
	waitHealthy(t, "http://"+addr, errOut)
}

// waitHealthy polls /healthz until the listener answers 200.
func waitHealthy(t *testing.T, base string, log *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener not up: %v\n%s", err, log.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a probe, as an orchestrator would
	}
}
