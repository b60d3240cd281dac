package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// privateFiles makes the database file 0600 before SQLite opens it, so the
// WAL and shared-memory files SQLite creates beside it (with the database
// file's mode) are 0600 too, whatever the umask. Files of an older
// sectriage, made under a umask of 022, are tightened.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("storage: opening %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := makePrivate(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: %w", err)
		}
	}
	return nil
}

// makePrivate removes group and other permissions from an existing file.
func makePrivate(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 == 0 {
		return nil
	}
	return os.Chmod(path, st.Mode().Perm()&0o600)
}

// createPrivate makes a new, empty file readable only by its owner, for
// SQLite to fill (VACUUM INTO takes an empty file and keeps its mode).
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}
