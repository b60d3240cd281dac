package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// instanceLock is the daemon's claim on its database: an exclusive flock
// on DB.lock, held for the process's lifetime. Two daemons on one
// database would each deliver the outbox and send every nag twice; the
// kernel drops the lock when the process dies, so a crash leaves nothing
// to clean up. `ingest`, `cmd` and the other one-shot commands do not take
// it: SQLite serialises their writes with the daemon's.
type instanceLock struct{ f *os.File }

// lockPath is where the lock of the database at dbPath lives.
func lockPath(dbPath string) string { return dbPath + ".lock" }

// errLocked says another daemon holds the lock.
var errLocked = errors.New("locked")

// acquireInstanceLock takes the lock or says who holds it. The holder's
// pid is written into the file for the next one's message.
func acquireInstanceLock(dbPath string) (*instanceLock, error) {
	path := lockPath(dbPath)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the instance lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			if _, perr := strconv.Atoi(pid); perr != nil {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%w: another sectriage (pid %s) is running on this database (lock %s held)", errLocked, pid, path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// Ours now: replace whatever pid a dead holder left.
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("writing the pid into %s: %w", path, err)
		}
	}
	return &instanceLock{f: f}, nil
}

// release gives the lock up. The file stays: removing it would let a
// third daemon lock a new file while a second still waits on the old one.
func (l *instanceLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}
