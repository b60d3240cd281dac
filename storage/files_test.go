package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// withUmask runs the test under a permissive umask, as `sectriage check`,
// `run` or `backup` started from a login shell would be.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func TestFilesArePrivateWhateverTheUmask(t *testing.T) {
	withUmask(t, 0o022)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "st.db")
	db, err := openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, _ := newService(t, db)
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "t"}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if _, err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm", backup} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s is mode %o, want 600", filepath.Base(f), st.Mode().Perm())
		}
	}
}

// A database an older sectriage made under umask 022 is tightened.
func TestOpenTightensAnExistingDatabase(t *testing.T) {
	withUmask(t, 0o022)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "st.db")
	db, err := openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s is mode %o after open, want 600", filepath.Base(f), st.Mode().Perm())
		}
	}
}
