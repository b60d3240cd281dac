package gpgtest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Revoke revokes k with the revocation certificate gpg made with it (in
// openpgp-revocs.d, its first line defused with a colon, as an operator
// finds it), and exports k again: PublicKey and SecretKey then carry the
// revocation.
func (g *GPG) Revoke(t testing.TB, k *Key) {
	t.Helper()
	cert, err := os.ReadFile(filepath.Join(g.Home, "openpgp-revocs.d", k.Fingerprint+".rev"))
	if err != nil {
		t.Fatal(err)
	}
	cert = bytes.Replace(cert, []byte(":-----BEGIN PGP PUBLIC KEY BLOCK-----"), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----"), 1)
	g.must(t, cert, "--import")
	g.describe(t, k)
}
