package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Every way a secret is read refuses a file group or others can read, and
// says how to fix it.
func TestSecretFilesReadableByOthersAreRefused(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	c := &Config{file: filepath.Join(dir, "sectriage.toml")}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o606} {
		path := filepath.Join(dir, "token")
		os.Remove(path)
		if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		for name, read := range map[string]func() error{
			"ReadSecret":      func() error { _, err := c.ReadSecret("token", "", "test token"); return err },
			"ReadSecretFile":  func() error { _, err := ReadSecretFile(path); return err },
			"CheckSecretFile": func() error { return CheckSecretFile(path) },
		} {
			err := read()
			if !errors.Is(err, ErrSecretExposed) || !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Errorf("%s of a mode %04o file: err = %v, want a refusal saying chmod 600 %s", name, mode, err, path)
			}
		}
	}
	path := filepath.Join(dir, "ok")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err := c.ReadSecret("ok", "", "test token"); err != nil || v != "s3cret" {
		t.Fatalf("a 0600 secret: %q, %v", v, err)
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if v, err := c.ReadSecret("ok", "", "test token"); err != nil || v != "s3cret" {
		t.Fatalf("a 0400 secret (systemd credentials): %q, %v", v, err)
	}
}
