package dovecot

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/user"
	"strconv"
	"testing"
)

// shortTempDir makes a temp dir with a short path: Dovecot's and
// gpg-agent's unix sockets live inside, and socket paths are limited to 107
// bytes, which t.TempDir() under a long test name can exceed.
func shortTempDir(t testing.TB, prefix string) string {
	t.Helper()
	parent := os.TempDir()
	if len(parent) > 40 {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, prefix)
	must(t, err)
	return dir
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func userName(t testing.TB, uid int) string {
	t.Helper()
	u, err := user.LookupId(strconv.Itoa(uid))
	must(t, err)
	return u.Username
}

func groupName(t testing.TB, gid int) string {
	t.Helper()
	g, err := user.LookupGroupId(strconv.Itoa(gid))
	must(t, err)
	return g.Name
}
