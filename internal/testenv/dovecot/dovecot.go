// Package dovecot runs a private, real Dovecot IMAP server on 127.0.0.1 for
// integration tests: its own config, users file, Maildir and (optionally) a
// self-signed certificate in a temp dir, started with `dovecot -F` and
// stopped by PID when the test ends.
//
// Debian 12 package: dovecot-imapd (scripts/deps/imap.sh installs it). When
// it is missing, Start skips the test, or fails it when CI is set.
//
//	srv := dovecot.Start(t, dovecot.Options{TLS: true})
//	srv.Deliver(t, raw)                 // as if the MTA had delivered it
//	c := srv.Client(t, nil)             // logged-in go-imap client
//	msgs := srv.Messages(t, "INBOX")    // what the bot left behind
package dovecot

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv"
)

// Options configure Start. The zero value is a plain-IMAP server with user
// "security" and a random password.
type Options struct {
	// TLS enables STARTTLS on Addr and implicit TLS on TLSAddr, with a
	// self-signed certificate (CertFile) made for this run.
	TLS bool
	// Username defaults to "security"; Password to a random string.
	Username, Password string
	// Mailboxes are created before Start returns (e.g. "Processed").
	Mailboxes []string
}

// Server is one running (or stopped) Dovecot instance.
type Server struct {
	Addr     string // 127.0.0.1:port, plain IMAP (STARTTLS when TLS is on)
	TLSAddr  string // 127.0.0.1:port, implicit TLS; "" without TLS
	Username string
	Password string
	CertFile string // PEM certificate to trust (RootCAs); "" without TLS
	Dir      string // everything of this instance: config, log, mail

	bin, conf, maildir string
	uid, gid           int // owner of the mail files (never 0, see below)

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	stopped bool
}

// Start runs a fresh Dovecot and returns once a LOGIN succeeds. It is
// stopped, and its directory removed, when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	testenv.RealServer(t, "Dovecot")
	bin := testenv.LookPath(t, "dovecot", "dovecot-imapd")
	s := &Server{Username: opts.Username, Password: opts.Password, bin: bin}
	if s.Username == "" {
		s.Username = "security"
	}
	if s.Password == "" {
		s.Password = randomHex(12)
	}
	s.Dir = shortTempDir(t, "dovecot-")
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("dovecot log tail (%s):\n%s", s.Dir, s.LogTail(40))
		}
		os.RemoveAll(s.Dir)
	})
	s.prepare(t, opts.TLS)

	// Dovecot cannot listen on port 0, so ports are picked in advance; on the
	// rare collision with another process, pick new ones and try again.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
		for opts.TLS && (s.TLSAddr == "" || s.TLSAddr == s.Addr) {
			s.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
		}
		s.writeConfig(t)
		if err = s.start(); err == nil || !addrInUse(s.LogTail(5)) {
			break
		}
		s.TLSAddr = ""
	}
	if err != nil {
		t.Fatalf("dovecot: %v\nlog tail:\n%s", err, s.LogTail(40))
	}
	for _, mb := range opts.Mailboxes {
		s.CreateMailbox(t, mb)
	}
	return s
}

func addrInUse(log string) bool { return strings.Contains(log, "Address already in use") }

// Stop terminates the server and ends every open IMAP session, as a
// crashing or restarting mail server would: SIGTERM to its process group,
// SIGKILL after 0.5 s. Mail and ports stay for Restart. Safe to call more
// than once.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.stopped {
		return
	}
	s.stopped = true
	// SIGTERM to the whole process group, not just the master: Dovecot 2.3's
	// master exits without ending running imap sessions (and its log and
	// stats processes), which would keep a connected client alive.
	// The master usually exits within 10 ms, but now and then it waits 1-6 s
	// for a child it has already lost; nothing of value is lost by not
	// waiting (Maildir deliveries are atomic renames), so cut that short.
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(500 * time.Millisecond):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
	// Anything of the group still there now is a straggler.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// Restart stops the server if it runs and starts it again on the same
// ports, with the same users and mail, as a restarted mail server would be.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatalf("dovecot restart: %v\nlog tail:\n%s", err, s.LogTail(40))
	}
}

// ClientTLSConfig trusts the server's certificate; nil without TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.CertFile == "" {
		return nil
	}
	pem, err := os.ReadFile(s.CertFile)
	if err != nil {
		panic(err) // written by Start; only a test that deletes it gets here
	}
	return clientTLSConfig(pem)
}

// LogTail returns the last n lines of Dovecot's log and stderr.
func (s *Server) LogTail(n int) string {
	var all []string
	for _, name := range []string{"dovecot.log", "stderr.log"} {
		b, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err == nil && len(b) > 0 {
			all = append(all, strings.Split(strings.TrimRight(string(b), "\n"), "\n")...)
		}
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return strings.Join(all, "\n")
}

// start runs the master and waits until a LOGIN works, which also proves the
// auth process and the users file are fine.
func (s *Server) start() error {
	s.mu.Lock()
	errLog, err := os.OpenFile(filepath.Join(s.Dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	cmd := exec.Command(s.bin, "-F", "-c", s.conf)
	cmd.Stdout, cmd.Stderr = errLog, errLog
	// Own process group, so a master that hangs can be killed with its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		errLog.Close()
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); errLog.Close(); close(exited) }()
	s.cmd, s.exited, s.stopped = cmd, exited, false
	s.mu.Unlock()

	deadline := time.Now().Add(10 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("dovecot exited during startup (%v)", cmd.ProcessState)
		default:
		}
		if lastErr = s.tryLogin(); lastErr == nil {
			return nil
		}
		// Nothing signals readiness; the port opens ~12 ms after exec.
		time.Sleep(5 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("dovecot not ready after 10 s: %v", lastErr)
}

// tryLogin speaks just enough IMAP to log in and out. It does not use
// imapclient, whose own 30 s read timeouts would override a deadline: a
// port that another process took must fail fast, not after a minute.
func (s *Server) tryLogin() error {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	r := bufio.NewReader(conn)
	// The greeting may be "* OK Waiting for authentication process to
	// respond.." while auth starts; LOGIN then simply waits for it.
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("greeting %q: %v", line, err)
	}
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	fmt.Fprintf(conn, "a1 LOGIN \"%s\" \"%s\"\r\n", quote.Replace(s.Username), quote.Replace(s.Password))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("LOGIN: %w", err)
		}
		if strings.HasPrefix(line, "a1 ") {
			if !strings.HasPrefix(line, "a1 OK") {
				return fmt.Errorf("LOGIN: %s", strings.TrimSpace(line))
			}
			break
		}
	}
	_, _ = fmt.Fprintf(conn, "a2 LOGOUT\r\n")
	return nil
}

// prepare writes the users file, Maildir and certificate. Dovecot refuses
// mail uid 0, so as root the mail belongs to nobody (65534); everything else
// runs as the invoking user.
func (s *Server) prepare(t testing.TB, withTLS bool) {
	t.Helper()
	s.uid, s.gid = os.Getuid(), os.Getgid()
	if s.uid == 0 {
		s.uid, s.gid = 65534, 65534
		// Temp dirs are 0700: the mail uid must be able to traverse them.
		must(t, os.Chmod(s.Dir, 0o755))
	}
	home := filepath.Join(s.Dir, "mail", s.Username)
	s.maildir = filepath.Join(home, "Maildir")
	for _, sub := range []string{"new", "cur", "tmp"} {
		must(t, os.MkdirAll(filepath.Join(s.maildir, sub), 0o700))
	}
	must(t, filepath.Walk(filepath.Join(s.Dir, "mail"), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, s.uid, s.gid)
	}))
	users := fmt.Sprintf("%s:{PLAIN}%s:%d:%d::%s::\n", s.Username, s.Password, s.uid, s.gid, home)
	must(t, os.WriteFile(filepath.Join(s.Dir, "users"), []byte(users), 0o644))
	if withTLS {
		s.CertFile = writeSelfSigned(t, s.Dir)
	}
}

func (s *Server) writeConfig(t testing.TB) {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, confHead, s.Dir)
	_, port, _ := net.SplitHostPort(s.Addr)
	tlsPort := "0" // port 0 disables the listener
	if s.CertFile != "" {
		_, tlsPort, _ = net.SplitHostPort(s.TLSAddr)
		fmt.Fprintf(&b, "ssl = yes\nssl_cert = <%s\nssl_key = <%s/key.pem\n", s.CertFile, s.Dir)
	} else {
		b.WriteString("ssl = no\n")
	}
	chroot := ""
	if os.Getuid() != 0 {
		// Without root, Dovecot can neither switch users nor chroot.
		name := userName(t, os.Getuid())
		fmt.Fprintf(&b, "default_internal_user = %s\ndefault_login_user = %s\ndefault_internal_group = %s\n",
			name, name, groupName(t, os.Getgid()))
		b.WriteString("service anvil {\n  chroot =\n}\n")
		chroot = "  chroot =\n"
	}
	fmt.Fprintf(&b, confListeners, chroot, port, tlsPort)
	s.conf = filepath.Join(s.Dir, "dovecot.conf")
	must(t, os.WriteFile(s.conf, b.Bytes(), 0o644))
}

// Standalone Dovecot 2.3 config: /etc/dovecot is never read.
const confHead = `base_dir = %[1]s/run
state_dir = %[1]s/run/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
first_valid_uid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login
# Wrong-password tests should not wait the default 2 s.
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/users
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/users
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
`

const confListeners = `service imap-login {
%s  inet_listener imap {
    address = 127.0.0.1
    port = %s
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %s
    ssl = yes
  }
}
`
