package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ReadSecretFile reads a file that holds a secret (a key, a passphrase, a
// token, a password). Like ssh with a private key, it refuses a file that
// group or others may read or write: the secret is no longer one, and
// saying so beats using it.
func ReadSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := private(path, st); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// CheckSecretFile refuses, as ReadSecretFile does, a secret file others
// may read, for files a library reads itself (a TLS private key).
func CheckSecretFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return private(path, st)
}

// ErrSecretExposed is the error of a secret file others may read.
var ErrSecretExposed = errors.New("a secret file is accessible to group or others")

func private(path string, st fs.FileInfo) error {
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s (mode %04o): run chmod 600 %s", ErrSecretExposed, path, perm, path)
	}
	return nil
}
