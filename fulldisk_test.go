package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sectriage/sectriage/internal/testenv"
)

// TestFullDiskWithAndWithoutDaemon: with the state directory's disk full,
// ingest exits 75 (EX_TEMPFAIL: the MTA keeps the message and retries)
// and a command that writes fails (exit 1) saying the disk is full; once
// space is freed the MTA's retry is stored and the command works.
// Identical whether the daemon or the process itself does the work, but
// for a read (see below). The disk is a small tmpfs, so SQLite's own writes
// get ENOSPC (SQLITE_FULL), as on a real full disk.
func TestFullDiskWithAndWithoutDaemon(t *testing.T) {
	transcript := map[string][]string{}
	for _, mode := range []string{"in-process", "daemon"} {
		dir := smallDisk(t, 4<<20)
		cfg, key := intakeConfigIn(t, dir, "")
		var lines []string
		step := func(name, stdin string, args ...string) (int, string) {
			code, out, errOut := runCLI(t, stdin, args...)
			out = clockTimes.ReplaceAllString(out, "TIME")
			lines = append(lines, fmt.Sprintf("%s: exit %d, stdout %q", name, code, out))
			return code, errOut
		}
		if code, errOut := step("first report", string(encryptedMail(t, key, "first@example.net", "Heap overflow", "b")), "ingest", "-config", cfg); code != exitOK {
			t.Fatalf("%s: setup ingest: %d %s", mode, code, errOut)
		}
		if mode == "daemon" {
			startDaemon(t, cfg, &syncBuffer{}, nil) // its control socket is bound before Ready
		}
		filler := fillDisk(t, dir)
		// Larger than any slack SQLite's files keep: storing it must grow
		// the write-ahead log.
		second := string(encryptedMail(t, key, "second@example.net", "Use after free", strings.Repeat("A proof of concept line.\n", 8000)))
		code, errOut := step("report on a full disk", second, "ingest", "-v", "-config", cfg)
		if want := map[string]string{"in-process": "doing it in this process", "daemon": "handed to the daemon"}[mode]; !strings.Contains(errOut, want) {
			t.Errorf("%s: ingest -v says %q", mode, errOut)
		}
		if code != exitTempErr {
			t.Errorf("%s: ingest on a full disk: exit %d, want %d (EX_TEMPFAIL)\n%s", mode, code, exitTempErr, errOut)
		}
		code, errOut = step("claim on a full disk", "", "cmd", "-config", cfg, "-as", "bob", "--", "claim", "1")
		if code != exitFailed || !strings.Contains(errOut, fullDisk) {
			t.Errorf("%s: claim on a full disk: exit %d (want %d) and an error naming the full disk; stderr:\n%s", mode, code, exitFailed, errOut)
		}
		// The one difference: a read. The daemon has the database open and
		// answers; a process of its own must first make the database's
		// shared-memory index (-shm), which the full disk refuses, so it
		// fails with the same message. Not in the compared transcript.
		code, out, errOut := runCLI(t, "", "cmd", "-config", cfg, "-as", "bob", "--", "list", "open")
		switch {
		case mode == "daemon" && (code != exitOK || !strings.Contains(out, "SEC-1")):
			t.Errorf("daemon: list on a full disk: exit %d %q\n%s", code, out, errOut)
		case mode == "in-process" && (code != exitFailed || !strings.Contains(errOut, fullDisk)):
			t.Errorf("in-process: list on a full disk: exit %d (want %d and the full disk named)\n%s", code, exitFailed, errOut)
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		if code, errOut = step("the MTA's retry", second, "ingest", "-config", cfg); code != exitOK {
			t.Errorf("%s: ingest once space is free: exit %d\n%s", mode, code, errOut)
		}
		if code, errOut = step("claim", "", "cmd", "-config", cfg, "-as", "bob", "--", "claim", "1"); code != exitOK {
			t.Errorf("%s: claim once space is free: exit %d\n%s", mode, code, errOut)
		}
		step("list", "", "cmd", "-config", cfg, "-as", "bob", "--", "list", "open")
		transcript[mode] = lines
	}
	if diff := cmp.Diff(transcript["in-process"], transcript["daemon"]); diff != "" {
		t.Fatalf("with and without the daemon differ (-in-process +daemon):\n%s", diff)
	}
	t.Logf("transcript:\n%s", strings.Join(transcript["daemon"], "\n"))
}

// fullDisk is what a user is told when the database's disk is full.
const fullDisk = "the disk holding the database is full"

// smallDisk mounts a tmpfs of size bytes on a new directory, unmounted
// when the test ends. Mounting needs root: others skip. As root it is
// expected to work (scripts/test.sh runs as root on a whole machine), so
// under CI a refusal fails rather than quietly dropping the full-disk
// case; locally (a container without CAP_SYS_ADMIN, say) it skips.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full disk is made with a tmpfs mount, which needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		testenv.Unavailable(t, "mounting a %d-byte tmpfs on %s: %v", size, dir, err)
	}
	// Registered after TempDir's removal, so it runs first: the mount
	// goes, then the (now empty) directory. MNT_DETACH: a daemon stopped
	// by a later cleanup may still hold the database open.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting the test tmpfs %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file in dir until the disk has no block left, and
// returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); errors.Is(err, syscall.ENOSPC) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}
	return path
}
