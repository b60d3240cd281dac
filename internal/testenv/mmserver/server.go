// Package mmserver runs a real Mattermost Team Edition server for
// integration tests: a private PostgreSQL 15 cluster and the Mattermost
// binary that scripts/deps/mattermost.sh builds, both on random 127.0.0.1
// ports, set up through the REST API the way an operator would.
//
// One server per test:
//
//	s := mmserver.Start(t) // stopped by t.Cleanup
//
// One server per test binary, for packages with many tests (each test then
// uses s.UniqueName for its teams, users and channels, and none may stop or
// restart the server):
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		mmserver.StopShared()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) { s := mmserver.Shared(t); ... }
//
// A missing binary or PostgreSQL skips the test, or fails it when CI is set
// (testenv.Unavailable).
package mmserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/internal/testenv"
)

// Version is the Mattermost release scripts/deps/mattermost.sh builds.
const Version = "11.4.0"

// Server is a running Mattermost server with its database.
type Server struct {
	dir   string // private; short, because unix socket paths are limited to 107 bytes
	bin   string
	port  int
	pg    *postgres
	admin *model.Client4

	mu        sync.Mutex // guards the fields below; tests may share a Server
	mm        *process   // nil while stopped by StopMattermost
	stopped   bool
	passwords map[string]string // username -> password, for UserClient
	seq       int               // for UniqueName
}

// BinaryPath is where the tests look for the server binary:
// $SECTRIAGE_MATTERMOST_BIN, or the cache scripts/deps/mattermost.sh fills.
func BinaryPath() string {
	if p := os.Getenv("SECTRIAGE_MATTERMOST_BIN"); p != "" {
		return p
	}
	cache := os.Getenv("SECTRIAGE_CACHE_DIR")
	if cache == "" {
		cache = "/var/cache/sectriage-test"
	}
	return filepath.Join(cache, "mattermost-"+Version, "mattermost")
}

// missing names what this machine lacks to run a server, or "" if nothing.
func missing() string {
	bin := BinaryPath()
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Sprintf("no Mattermost server binary at %s (run: sudo bash scripts/deps/mattermost.sh)", bin)
	}
	if _, err := os.Stat(pgBin("postgres")); err != nil {
		return fmt.Sprintf("no PostgreSQL 15 in %s (run: sudo bash scripts/deps/mattermost.sh)", pgBinDir)
	}
	return ""
}

// Start starts a server that t's cleanup stops. On failure of t, the last
// lines of the server's log are printed.
func Start(t testing.TB) *Server {
	t.Helper()
	testenv.RealServer(t, "Mattermost and PostgreSQL")
	if msg := missing(); msg != "" {
		testenv.Unavailable(t, "%s", msg)
	}
	s, err := start(BinaryPath(), t.Logf)
	if err != nil {
		t.Fatalf("mmserver: %v", err)
	}
	t.Cleanup(s.Stop)
	t.Cleanup(func() { s.logOnFailure(t) }) // runs first: the log goes with the directory
	return s
}

// The one shared server of this test binary; see Shared.
var shared struct {
	mu      sync.Mutex
	started bool
	srv     *Server
	err     error
}

// Shared returns the test binary's shared server, starting it on first use.
// It outlives the test that started it, so TestMain must call StopShared.
// (Were it forgotten, the processes still die with the test binary, but the
// temporary directory stays behind.)
func Shared(t testing.TB) *Server {
	t.Helper()
	testenv.RealServer(t, "Mattermost and PostgreSQL")
	if msg := missing(); msg != "" {
		testenv.Unavailable(t, "%s", msg)
	}
	shared.mu.Lock()
	if !shared.started {
		shared.started = true
		shared.srv, shared.err = start(BinaryPath(), t.Logf)
	}
	s, err := shared.srv, shared.err
	shared.mu.Unlock()
	if err != nil {
		t.Fatalf("mmserver: shared server: %v", err)
	}
	if s == nil {
		t.Fatalf("mmserver: shared server used after StopShared")
	}
	t.Cleanup(func() { s.logOnFailure(t) })
	return s
}

// StopShared stops the shared server if one was started. Call it from
// TestMain after m.Run.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	shared.srv, shared.err = nil, nil
}

func start(bin string, logf func(string, ...any)) (_ *Server, err error) {
	t0 := time.Now()
	dir, err := os.MkdirTemp("", "sectriage-mm-")
	if err != nil {
		return nil, err
	}
	// When we are root, postgres runs as its own user and must reach its
	// data directory in here.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	s := &Server{
		dir: dir, bin: bin, passwords: map[string]string{},
		pg: &postgres{dataDir: filepath.Join(dir, "pgdata"), logPath: filepath.Join(dir, "postgres.log"), cred: cred},
	}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if err := os.MkdirAll(s.runDir(), 0o755); err != nil {
		return nil, err
	}

	tmpl := templatePath(bin)
	fromTemplate := false
	if usableTemplate(tmpl) {
		if err := s.pg.copyFrom(tmpl); err != nil {
			logf("mmserver: not using template %s: %v", tmpl, err)
			os.RemoveAll(s.pg.dataDir)
		} else {
			fromTemplate = true
		}
	}
	if !fromTemplate {
		if err := s.pg.initdb(); err != nil {
			return nil, err
		}
	}
	if err := s.pg.start(); err != nil {
		return nil, err
	}
	tPG := time.Now()
	if err := s.startMattermost(true); err != nil {
		return nil, err
	}
	tMM := time.Now()
	how := "template database"
	if !fromTemplate {
		how = "fresh database"
		if tmpl != "" {
			// Before any user exists: the template must be an empty server.
			if err := s.pg.snapshot(tmpl); err != nil {
				logf("mmserver: could not save template database (next start will migrate again): %v", err)
			} else {
				how += ", saved as template"
			}
		}
	}
	if err := s.createAdmin(); err != nil {
		return nil, err
	}
	logf("mmserver: Mattermost up at %s in %v (%s; postgres %v, mattermost %v)",
		s.URL(), time.Since(t0).Round(time.Millisecond), how,
		tPG.Sub(t0).Round(time.Millisecond), tMM.Sub(tPG).Round(time.Millisecond))
	return s, nil
}

func (s *Server) runDir() string     { return filepath.Join(s.dir, "mm") }
func (s *Server) configPath() string { return filepath.Join(s.runDir(), "config.json") }

// LogPath is the server's console log (text, level INFO).
func (s *Server) LogPath() string { return filepath.Join(s.dir, "mattermost.log") }

// URL is the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

// WebsocketURL is the base URL model.NewWebSocketClient4 expects.
func (s *Server) WebsocketURL() string { return fmt.Sprintf("ws://127.0.0.1:%d", s.port) }

// LocalSocket is the local-mode socket (mmctl --local, no authentication).
func (s *Server) LocalSocket() string { return filepath.Join(s.dir, "local.sock") }

// startMattermost starts the server process and waits for its ping. The
// first start picks the port and writes the config; later ones reuse both,
// so clients keep their URL and sessions across a restart.
func (s *Server) startMattermost(first bool) error {
	for attempt := 1; ; attempt++ {
		if first {
			port, err := freePort()
			if err != nil {
				return err
			}
			s.port = port
			if err := s.writeConfig(); err != nil {
				return err
			}
		}
		offset := logSize(s.LogPath())
		cmd := exec.Command(s.bin, "server", "--config", s.configPath())
		cmd.Dir = s.runDir() // it may create logs/ and data/ in its working directory
		cmd.Env = childEnv()
		p, err := startProcess("mattermost", cmd, s.LogPath(), syscall.SIGTERM, nil)
		if err != nil {
			return err
		}
		err = p.poll(2*time.Minute, s.pingOK)
		if err == nil {
			s.mu.Lock()
			s.mm = p
			s.mu.Unlock()
			return nil
		}
		p.stop(5 * time.Second)
		if first && attempt < 3 && addrInUse(s.LogPath(), offset) {
			continue
		}
		return fmt.Errorf("%w; last lines of %s:\n%s", err, s.LogPath(), tail(s.LogPath(), 30))
	}
}

var pingClient = &http.Client{Timeout: 2 * time.Second}

func (s *Server) pingOK() bool {
	resp, err := pingClient.Get(s.URL() + "/api/v4/system/ping")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct{ Status string }
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&body) == nil && body.Status == "OK"
}

// With the job server off Mattermost stops in well under a second; the
// grace only matters when it hangs.
const mmGrace = 30 * time.Second

// StopMattermost stops the Mattermost process and leaves the database, so
// that tests can see what a client does while the server is down.
func (s *Server) StopMattermost(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	p := s.mm
	s.mm = nil
	s.mu.Unlock()
	if p == nil {
		t.Fatalf("mmserver: StopMattermost: not running")
	}
	p.stop(mmGrace)
}

// StartMattermost starts the Mattermost process again after StopMattermost,
// on the same port, configuration and database.
func (s *Server) StartMattermost(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running, stopped := s.mm != nil, s.stopped
	s.mu.Unlock()
	if running || stopped {
		t.Fatalf("mmserver: StartMattermost: already running or stopped for good")
	}
	if err := s.startMattermost(false); err != nil {
		t.Fatalf("mmserver: restarting: %v", err)
	}
}

// Restart stops Mattermost and starts it again; see StartMattermost.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.StopMattermost(t)
	s.StartMattermost(t)
}

// Stop stops Mattermost and PostgreSQL and removes their files. It is safe
// to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	p := s.mm
	s.mm = nil
	s.mu.Unlock()
	p.stop(mmGrace)
	s.pg.stop()
	os.RemoveAll(s.dir)
}

func (s *Server) logOnFailure(t testing.TB) {
	if t.Failed() {
		t.Logf("mmserver: last lines of %s:\n%s", s.LogPath(), tail(s.LogPath(), 40))
	}
}

// UniqueName returns prefix with a suffix no earlier call on this server
// returned, for names of teams, users and channels on a shared server.
func (s *Server) UniqueName(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s-%d", strings.ToLower(prefix), s.seq)
}
