package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// BackupInfo describes a backup that was written and checked.
type BackupInfo struct {
	Path      string
	Bytes     int64
	Incidents int
	Events    int
	Reports   int
}

// Backup writes a consistent copy of the database to dest while the daemon
// keeps writing: VACUUM INTO reads one snapshot (a read transaction, so
// writers are not blocked in WAL mode) into a new, compact file. The copy
// goes to a temporary name, is checked with integrity_check, synced, and
// only then renamed to dest, so dest is either a good backup or absent.
func (db *DB) Backup(ctx context.Context, dest string) (BackupInfo, error) {
	abs, err := filepath.Abs(dest)
	if err != nil {
		return BackupInfo{}, err
	}
	if _, err := os.Stat(abs); err == nil {
		return BackupInfo{}, fmt.Errorf("backup: %s already exists; choose a new file name", dest)
	}
	tmp := abs + ".partial"
	os.Remove(tmp)
	// The copy holds what the database holds (sealed values, wrapped key):
	// 0600 like the database, whatever the umask.
	if err := createPrivate(tmp); err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	if _, err := db.read.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return BackupInfo{}, fmt.Errorf("backup: copying the database: %w", err)
	}
	info, err := checkBackup(ctx, tmp)
	if err != nil {
		os.Remove(tmp)
		return BackupInfo{}, err
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return BackupInfo{}, err
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	info.Path = abs
	return info, nil
}

// checkBackup opens a copy read-only and verifies it.
func checkBackup(ctx context.Context, path string) (BackupInfo, error) {
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return BackupInfo{}, err
	}
	defer conn.Close()
	var result string
	if err := conn.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil {
		return BackupInfo{}, fmt.Errorf("backup: checking the copy: %w", err)
	}
	if result != "ok" {
		return BackupInfo{}, fmt.Errorf("backup: the copy failed its integrity check: %s", result)
	}
	var info BackupInfo
	err = conn.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM incidents), (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM reports)`).
		Scan(&info.Incidents, &info.Events, &info.Reports)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: reading the copy: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, err
	}
	info.Bytes = st.Size()
	return info, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
