package dovecot

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv"
)

// Start retries when another process takes a port between FreePort and
// Dovecot's bind. That needs the failure to be quick and recognisable.
func TestPortInUseIsRecognised(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := &Server{Username: "security", Password: "x", bin: testenv.LookPath(t, "dovecot", "dovecot-imapd")}
	s.Dir = shortTempDir(t, "dovecot-")
	t.Cleanup(func() { s.Stop(); _ = os.RemoveAll(s.Dir) })
	s.prepare(t, false)
	s.Addr = l.Addr().String()
	s.writeConfig(t)
	start := time.Now()
	if err := s.start(); err == nil {
		t.Fatal("dovecot started on a port that is in use")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failing on a taken port took %v", d)
	}
	if !addrInUse(s.LogTail(5)) {
		t.Fatalf("log does not say the address is in use:\n%s", s.LogTail(20))
	}
}
