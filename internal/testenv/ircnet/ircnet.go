// Package ircnet runs a real IRC network for integration tests: InspIRCd 3
// with Anope 2 services (Debian 12 packages, installed by
// scripts/deps/irc.sh) on random loopback ports, in a private temporary
// directory, plus a raw line-level client to drive and observe it.
//
// The network is Libera-like: NickServ accounts without e-mail, SASL PLAIN,
// account-tag, extended-join, message-tags, server-time, echo-message,
// +s/+i/+k channels. See shared/recipes/irc-testnet for what was verified
// and how it differs from Libera.
package ircnet

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv"
)

// Options changes the network's configuration.
type Options struct {
	// FakeLag puts every client in FakeLagClass: InspIRCd's default flood
	// limits with fake lag on, as on real networks. Without it flood control
	// is off. Opers are exempt either way.
	FakeLag bool
	// ExtraConfig is inserted into inspircd.conf before the <connect> block,
	// so a <connect> of its own matches first. It must not repeat tags that
	// may appear only once (<server>, <options>, ...).
	ExtraConfig string
}

// Network is a running InspIRCd + Anope pair.
type Network struct {
	// CertFile is the PEM file of the self-signed TLS certificate; trust it as
	// a CA. It is valid for 127.0.0.1 and ServerName.
	CertFile string
	// CertFingerprint is the SHA-256 of the certificate (DER), lower-case hex
	// without colons, for certificate-pinning tests.
	CertFingerprint string

	inspircdBin, anopeBin string

	conf     confData
	cred     *syscall.Credential // the irc user when running as root
	inspircd *daemon
	anope    *daemon
	certPEM  []byte
}

// Start writes the config into a new temporary directory, starts InspIRCd
// and Anope, and returns once NickServ is online. Everything is stopped and
// removed when the test ends; when the test failed, the ends of the daemons'
// logs are logged before the directory goes.
func Start(t testing.TB, opts Options) *Network {
	t.Helper()
	testenv.RealServer(t, "InspIRCd and Anope")
	n := &Network{
		inspircdBin: testenv.LookPath(t, "inspircd", "inspircd"),
		anopeBin:    testenv.LookPath(t, "anope", "anope"),
	}
	if os.Geteuid() == 0 {
		// InspIRCd refuses to run as root and Anope sleeps 3 s first when it
		// is root, so both run as Debian's irc user, like the packages do.
		u, err := user.Lookup("irc")
		if err != nil {
			testenv.Unavailable(t, "user irc (created by the inspircd package): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		n.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}
	dir, err := os.MkdirTemp("", "ircnet-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	class := noFloodClass
	if opts.FakeLag {
		class = FakeLagClass
	}
	n.conf = confData{
		Dir: dir, ConnectClass: class, Extra: opts.ExtraConfig,
		ServerName: ServerName, Services: ServicesName,
		OperName: OperName, OperPass: OperPassword, LinkPass: linkPassword,
		CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"),
		AnopeDir: filepath.Join(dir, "anope"), AnopeConfig: filepath.Join(dir, "anope", "conf"),
	}
	cert, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	n.CertFile, n.CertFingerprint, n.certPEM = n.conf.CertFile, cert.fingerprint, cert.cert
	t.Cleanup(func() {
		n.Stop() // first: InspIRCd only flushes its log file on exit
		if t.Failed() {
			n.logTails(t)
		}
	})
	// The ports are free when picked but may be taken before InspIRCd binds
	// them; a fresh set is tried in that rare case.
	for attempt := 1; ; attempt++ {
		n.conf.Plain, n.conf.TLS, n.conf.Link = testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		if err := writeConfig(n.conf); err != nil {
			if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
				testenv.Unavailable(t, "%v", err)
			}
			t.Fatalf("ircnet: writing config: %v", err)
		}
		if n.cred != nil {
			chownTree(t, dir, n.cred)
		}
		err = n.start()
		if err == nil {
			return n
		}
		n.Stop()
		if attempt == 3 {
			t.Fatalf("ircnet: %v", err)
		}
		t.Logf("ircnet: start attempt %d failed, retrying on new ports: %v", attempt, err)
	}
}

// Addr is the plain-text client address, "127.0.0.1:port".
func (n *Network) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.conf.Plain)) }

// TLSAddr is the TLS client address.
func (n *Network) TLSAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.conf.TLS)) }

// TLSConfig returns a client config that trusts only this network's
// certificate. ServerName is set because some clients (girc) use a custom
// config as-is; the certificate is also valid for 127.0.0.1.
func (n *Network) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(n.certPEM)
	return &tls.Config{RootCAs: pool, ServerName: ServerName, MinVersion: tls.VersionTLS12}
}

// Stop stops Anope, then InspIRCd (by PID). Anope saves its database on the
// way out. Safe to call more than once.
func (n *Network) Stop() {
	n.anope.stop()
	n.inspircd.stop()
	n.anope, n.inspircd = nil, nil
}

// Restart stops both daemons and starts them again on the same ports with
// the same accounts database, as a network restart would. Connected clients
// are disconnected.
func (n *Network) Restart(t testing.TB) {
	t.Helper()
	n.Stop()
	if err := n.start(); err != nil {
		t.Fatalf("ircnet: restart: %v", err)
	}
}

// Relaunch starts the daemons again after Stop, on the same ports with the
// same accounts, so a test can act while the network is down (queue
// messages, watch a client retry) before it comes back.
func (n *Network) Relaunch(t testing.TB) {
	t.Helper()
	if n.inspircd != nil {
		t.Fatal("ircnet: Relaunch while the network is running; call Stop first")
	}
	if err := n.start(); err != nil {
		t.Fatalf("ircnet: relaunch: %v", err)
	}
}

// RegisterAccounts registers several accounts at once, each as
// RegisterAccount does. Every registration waits for the server's
// one-second registration tick, so in parallel they cost one tick in all.
// Pairs are account, password.
func (n *Network) RegisterAccounts(t testing.TB, pairs ...string) {
	t.Helper()
	if len(pairs)%2 != 0 {
		t.Fatal("ircnet: RegisterAccounts takes account, password pairs")
	}
	errs := make([]error, len(pairs)/2)
	var wg sync.WaitGroup
	for i := 0; i < len(pairs); i += 2 {
		wg.Go(func() { errs[i/2] = n.register(pairs[i], pairs[i+1]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("ircnet: %v", err)
		}
	}
}

// RegisterAccount registers a NickServ account (no e-mail) from a temporary
// connection using the account name as nick, and waits until NickServ has
// logged that connection in.
func (n *Network) RegisterAccount(t testing.TB, account, password string) {
	t.Helper()
	if err := n.register(account, password); err != nil {
		t.Fatalf("ircnet: %v", err)
	}
}

func (n *Network) register(account, password string) error {
	c, err := connect(n.Addr(), account, ClientOptions{})
	if err != nil {
		return fmt.Errorf("registering %s: %w", account, err)
	}
	defer c.Close()
	c.Privmsg("NickServ", "REGISTER "+password)
	// 900 RPL_LOGGEDIN; Anope's wording of errors is not matched on purpose.
	if _, err := c.wait(time.Now().Add(10*time.Second), Cmd("900")); err != nil {
		return fmt.Errorf("NickServ REGISTER %s: %w", account, err)
	}
	return nil
}

// start launches InspIRCd, then Anope once the server port accepts, and
// waits until NickServ is online, as seen by a client using MONITOR.
func (n *Network) start() error {
	var err error
	n.inspircd, err = n.spawn("inspircd", n.inspircdBin, "--nofork", "--nopid",
		"--config="+filepath.Join(n.conf.Dir, "inspircd.conf"))
	if err != nil {
		return err
	}
	if err := n.inspircd.waitPort(n.conf.Link, 10*time.Second); err != nil {
		return err
	}
	n.anope, err = n.spawn("anope", n.anopeBin, "--nofork",
		"--confdir="+n.conf.AnopeConfig, "--dbdir="+n.conf.AnopeDir+"/data",
		"--logdir="+n.conf.AnopeDir+"/logs", "--modulesdir=/usr/lib/anope",
		"--localedir=/usr/share/anope/locale")
	if err != nil {
		return err
	}
	// Registering the probe overlaps with Anope linking; both take ~1 s.
	probe, err := connect(n.Addr(), fmt.Sprintf("probe%d", os.Getpid()%100000), ClientOptions{})
	if err != nil {
		return fmt.Errorf("readiness probe: %w", err)
	}
	defer probe.Close()
	probe.Send("MONITOR + NickServ") // 730 now or as soon as NickServ appears
	online := make(chan error, 1)
	go func() {
		_, err := probe.wait(time.Now().Add(15*time.Second), Cmd("730"))
		online <- err
	}()
	select {
	case err := <-online:
		if err != nil {
			return fmt.Errorf("NickServ did not come online (anope %s): %w", n.anope.state(), err)
		}
		return nil
	case <-n.anope.done:
		return fmt.Errorf("anope exited (%s) before linking; see anope.stdout", n.anope.state())
	}
}

// logTails logs the end of every log the daemons wrote, for failed tests.
func (n *Network) logTails(t testing.TB) {
	// anope.stdout repeats Anope's own log and also has its start-up errors.
	logs, _ := filepath.Glob(filepath.Join(n.conf.Dir, "logs", "*"))
	for _, f := range logs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("ircnet: last lines of %s:\n%s", filepath.Base(f), bytes.Join(lines, []byte("\n")))
	}
}

// chownTree hands the whole directory to the irc user, who must read the
// config and key and write logs and the accounts database.
func chownTree(t testing.TB, dir string, cred *syscall.Credential) {
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		t.Fatalf("ircnet: chown %s: %v", dir, err)
	}
}

// daemon is one running server process, started in the foreground
// (--nofork) so its PID is ours to stop and its exit is noticed at once.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	out  *os.File
}

func (n *Network) spawn(name string, argv ...string) (*daemon, error) {
	out, err := os.Create(filepath.Join(n.conf.Dir, "logs", name+".stdout"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = n.conf.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: n.cred,
		Setpgid:    true, // a ^C in the terminal is for go test, not the daemons
		// If the test binary dies without cleaning up (timeout panic, kill),
		// the daemons must not linger holding ports.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{}), out: out}
	go func() { cmd.Wait(); close(d.done) }()
	return d, nil
}

// waitPort waits until the daemon accepts TCP connections on port.
func (d *daemon) waitPort(port int, timeout time.Duration) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-d.done:
			return fmt.Errorf("%s exited (%s) before listening on %s", d.name, d.state(), addr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %v: %w", d.name, addr, timeout, err)
		}
	}
}

func (d *daemon) state() string {
	select {
	case <-d.done:
		return d.cmd.ProcessState.String()
	default:
		return "running"
	}
}

// stop sends SIGTERM (both daemons shut down cleanly on it, Anope saving
// its database) and SIGKILL if that takes over 10 s.
func (d *daemon) stop() {
	if d == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
	d.out.Close()
}
