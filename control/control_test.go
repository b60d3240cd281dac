package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeDaemon records what it is handed.
type fakeDaemon struct {
	ingested []bot.Submission
	ingest   func() error
}

func (f *fakeDaemon) Ingest(ctx context.Context, sub bot.Submission) (bot.IntakeResult, error) {
	f.ingested = append(f.ingested, sub)
	if f.ingest != nil {
		if err := f.ingest(); err != nil {
			return bot.IntakeResult{}, err
		}
	}
	return bot.IntakeResult{ReportID: 7, IncidentID: 42}, nil
}

func (f *fakeDaemon) Command(ctx context.Context, as, line string) (string, bool) {
	if as != "alice" {
		return "Only team members can do that.", true
	}
	return "ran " + line + " as " + as, false
}

// serve starts a server on a fresh socket until the test ends.
func serve(t *testing.T, h Handler, allow Allow) *Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), SocketName)
	s, err := Listen(path, h, Options{Allow: allow, Group: -1}, discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the socket outlived the server: %v", err)
		}
	})
	return s
}

func TestIngestAndCommandOverTheSocket(t *testing.T) {
	d := &fakeDaemon{}
	s := serve(t, d, NewAllow(os.Getuid(), -1))
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	c := NewClient(s.Path())
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := c.Ingest(ctx, bot.Submission{Source: bot.SourcePipe, Raw: []byte("Subject: x\r\n\r\nbody")})
	if err != nil || res.IncidentID != 42 || res.ReportID != 7 {
		t.Fatalf("ingest = %+v, %v", res, err)
	}
	if _, err := c.Ingest(ctx, bot.Submission{Raw: []byte("head"), Oversized: true, Size: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if got := d.ingested; len(got) != 2 || string(got[0].Raw) != "Subject: x\r\n\r\nbody" || got[0].Source != bot.SourcePipe ||
		got[0].Oversized || !got[1].Oversized || got[1].Size != 1<<30 {
		t.Fatalf("the daemon was handed %+v", got)
	}
	text, failed, err := c.Command(ctx, "alice", "list open")
	if err != nil || failed || text != "ran list open as alice" {
		t.Fatalf("command = %q %v %v", text, failed, err)
	}
	if text, failed, err = c.Command(ctx, "mallory", "list open"); err != nil || !failed {
		t.Fatalf("command as an outsider = %q %v %v", text, failed, err)
	}
	// The daemon could not store it: the sender must keep the message.
	d.ingest = func() error { return errors.New("database is locked") }
	if _, err := c.Ingest(ctx, bot.Submission{Raw: []byte("x")}); err == nil || errors.Is(err, ErrNoDaemon) {
		t.Fatalf("a failed ingest = %v", err)
	} else if strings.Contains(err.Error(), "locked") {
		t.Errorf("the daemon's own error reached the client: %v", err)
	}
}

func TestNoDaemon(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	missing := NewClient(filepath.Join(dir, "none.sock"))
	if err := missing.Ping(ctx); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("no socket: %v", err)
	}
	// A socket file left by a daemon that died: nobody answers.
	path := filepath.Join(dir, SocketName)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := NewClient(path).Ingest(ctx, bot.Submission{Raw: []byte("x")}); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("stale socket: %v", err)
	}
	// The next daemon replaces it.
	s, err := Listen(path, &fakeDaemon{}, Options{Allow: NewAllow(os.Getuid(), -1), Group: -1}, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	// But not a live one.
	if _, err := Listen(path, &fakeDaemon{}, Options{Group: -1}, discard()); !errors.Is(err, ErrInUse) {
		t.Fatalf("listening over a live daemon: %v", err)
	}
	// Nor anything that is not a socket.
	file := filepath.Join(dir, "not-a-socket")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file, &fakeDaemon{}, Options{Group: -1}, discard()); err == nil {
		t.Fatal("listened in place of a regular file")
	}
	if data, _ := os.ReadFile(file); string(data) != "keep me" {
		t.Fatal("the file was removed")
	}
}

// TestDaemonDiesMidRequest: a daemon killed while it handles a request
// drops the connection without an answer.
func TestDaemonDiesMidRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	c := NewClient(path)
	ctx := context.Background()
	if _, err := c.Ingest(ctx, bot.Submission{Raw: []byte("x")}); err == nil || errors.Is(err, ErrNoDaemon) {
		t.Fatalf("ingest cut off: %v (must be an error, and not 'no daemon': the message may be stored)", err)
	}
	if _, _, err := c.Command(ctx, "alice", "claim 1"); err == nil || errors.Is(err, ErrNoDaemon) {
		t.Fatalf("command cut off: %v", err)
	}
}

func TestAllow(t *testing.T) {
	groups := map[uint32][]int{1001: {100, 500}, 1002: {100}}
	a := Allow{UID: 999, Group: 500, groupsOf: func(uid uint32) ([]int, error) { return groups[uid], nil }}
	for _, tc := range []struct {
		p    Peer
		want bool
	}{
		{Peer{UID: 999, GID: 999}, true},   // the daemon's user
		{Peer{UID: 0, GID: 0}, true},       // root
		{Peer{UID: 1003, GID: 500}, true},  // primary group
		{Peer{UID: 1001, GID: 1001}, true}, // supplementary group
		{Peer{UID: 1002, GID: 1002}, false},
		{Peer{UID: 1004, GID: 1004}, false},
	} {
		if got := a.Permits(tc.p); got != tc.want {
			t.Errorf("Permits(%+v) = %v", tc.p, got)
		}
	}
	if (Allow{UID: 999, Group: -1}).Permits(Peer{UID: 1003, GID: 500}) {
		t.Error("no group configured, yet a group member was let in")
	}
}

// TestPeerCredentials: the server learns the client's identity from the
// kernel, and refuses one it does not serve.
func TestPeerCredentials(t *testing.T) {
	me := os.Getuid()
	s := serve(t, &fakeDaemon{}, Allow{UID: me, Group: -1})
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	p, err := peerOf(c)
	c.Close()
	if err != nil || int(p.UID) != me || int(p.PID) != os.Getpid() {
		t.Fatalf("peer = %+v, %v; want uid %d pid %d", p, err, me, os.Getpid())
	}
	if err := NewClient(s.Path()).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Another user (the kernel's word, put where withPeer puts it), or a
	// connection whose credentials could not be read, is refused.
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, v := range []any{Peer{UID: uint32(me) + 4242, GID: 4242}, errors.New("no credentials")} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, pathCommand, nil)
		s.checkPeer(ok).ServeHTTP(rec, req.WithContext(context.WithValue(req.Context(), peerKey{}, v)))
		if rec.Code != http.StatusForbidden {
			t.Errorf("peer %v: status %d, want 403", v, rec.Code)
		}
	}
}
