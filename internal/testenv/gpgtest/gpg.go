// Package gpgtest drives a real GnuPG (Debian package gnupg) in a private
// home directory to make OpenPGP keys and messages the way reporters' mail
// clients do, including deliberately broken ones for negative tests.
//
// Every cryptographic operation runs in gpg, with two documented
// exceptions that gpg cannot produce quickly (see CompressionBomb and
// FlipBit). When gpg is missing, New skips the test, or fails it when CI is
// set.
//
//	g := gpgtest.New(t)
//	team := g.GenerateKey(t, "Security Team", "security@example.org", gpgtest.KeyOptions{Passphrase: "pw"})
//	reporter := g.GenerateKey(t, "Reporter", "reporter@example.net", gpgtest.KeyOptions{})
//	raw := g.PGPMIME(t, gpgtest.Mail{Subject: "XSS in login"}, []*gpgtest.Key{team},
//		gpgtest.MIMEOptions{SignWith: reporter, ProtectedHeaders: true})
package gpgtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv"
)

// GPG is one isolated GnuPG home with its own gpg-agent.
type GPG struct {
	Home string // GNUPGHOME; short, because gpg-agent's socket lives in it

	bin, gpgconf string
	mu           sync.Mutex
	keys         []*Key // generated or imported here, to find passphrases
	stranger     *Key   // see WrongRecipient
}

// Key is an OpenPGP key pair made by GenerateKey.
type Key struct {
	Name, Email string
	UserID      string // "Name <email>"
	Fingerprint string // primary key, 40 upper-case hex digits
	KeyID       string // primary key, 16 hex digits
	// SubkeyIDs are the encryption subkeys' IDs, the ones a PKESK packet
	// names (unless the sender used --throw-keyids).
	SubkeyIDs  []string
	Passphrase string // "" when the secret key is unprotected
	PublicKey  []byte // armored
	SecretKey  []byte // armored, protected with Passphrase if set
}

// KeyOptions configure GenerateKey.
type KeyOptions struct {
	Passphrase string
	// Algorithm is "ed25519" (the default: Ed25519 primary for signing,
	// Curve25519 ECDH subkey for encryption, what gpg 2.3+ and Thunderbird
	// make), "nistp256", or "rsa2048"/"rsa3072"/"rsa4096" (RSA primary and
	// RSA encryption subkey; 3072 bits takes 0.3-6 s in gpg-agent).
	Algorithm string
	// Expiry is the key's lifetime after Created; 0 means it never expires.
	Expiry time.Duration
	// Created backdates the key; zero means now. Created 48 h ago with a
	// 24 h Expiry gives an already-expired key.
	Created time.Time
}

// New makes a fresh GNUPGHOME and stops its gpg-agent when t ends.
func New(t testing.TB) *GPG {
	t.Helper()
	// gpg-agent calibrates the passphrase S2K to ~100 ms of hashing, which
	// go-crypto then needs about 0.5 s per key to undo; tests unlock keys
	// often, so protect (and export) keys with the minimal iteration count.
	return newHome(t, 65536)
}

// NewRealistic is New with keys protected as GnuPG protects them by
// default on a fast machine: an S2K count of 65,011,712 (the largest
// OpenPGP can encode), for benchmarks of unlocking a team key.
func NewRealistic(t testing.TB) *GPG {
	t.Helper()
	return newHome(t, 65011712)
}

// newHome makes a GNUPGHOME whose agent protects and exports secret keys
// with s2kCount iterations (the agent's setting governs exported keys).
func newHome(t testing.TB, s2kCount int) *GPG {
	t.Helper()
	testenv.RealServer(t, "GnuPG and its agent")
	g := &GPG{
		bin:     testenv.LookPath(t, "gpg", "gnupg"),
		gpgconf: testenv.LookPath(t, "gpgconf", "gnupg"),
	}
	// gpg-agent's socket must fit the 107-byte sun_path; t.TempDir() under a
	// long test name does not, so use a short directory under /tmp.
	parent := os.TempDir()
	if len(parent) > 40 {
		parent = "/tmp"
	}
	home, err := os.MkdirTemp(parent, "gpgt-") // 0700, as gpg wants
	if err != nil {
		t.Fatal(err)
	}
	g.Home = home
	t.Cleanup(func() {
		kill := exec.Command(g.gpgconf, "--kill", "all")
		kill.Env = g.env()
		if out, err := kill.CombinedOutput(); err != nil {
			t.Logf("gpgconf --kill all: %v: %s", err, out)
		}
		os.RemoveAll(home)
	})
	// Never touch the network (key servers, WKD) and keep output stable.
	files := map[string]string{
		"gpg.conf":       fmt.Sprintf("no-auto-key-retrieve\nno-auto-key-locate\nno-greeting\nno-permission-warning\ns2k-count %d\n", s2kCount),
		"gpg-agent.conf": fmt.Sprintf("s2k-count %d\n", s2kCount),
	}
	for name, conf := range files {
		if err := os.WriteFile(filepath.Join(home, name), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func (g *GPG) env() []string {
	// LC_ALL=C keeps stderr in English for tests that match on it.
	return append(os.Environ(), "GNUPGHOME="+g.Home, "LC_ALL=C", "LANGUAGE=")
}

// Result is what one gpg run produced.
type Result struct {
	Output []byte   // stdout
	Stderr string   // human-readable messages, status lines removed
	Status []string // "[GNUPG:] " status lines without that prefix
	Err    error    // non-nil when gpg exited non-zero
}

// Has reports whether gpg emitted the status keyword (e.g. "GOODSIG",
// "DECRYPTION_FAILED", "NO_SECKEY"); see gnupg's doc/DETAILS.
func (r *Result) Has(keyword string) bool {
	for _, s := range r.Status {
		if s == keyword || strings.HasPrefix(s, keyword+" ") {
			return true
		}
	}
	return false
}

// Run runs gpg in this home with stdin as input and the flags every call
// needs (batch, loopback pinentry, trust every key, status on stderr). It
// does not fail the test; see Result.Err.
func (g *GPG) Run(stdin []byte, args ...string) *Result {
	base := []string{"--batch", "--no-tty", "--yes", "--pinentry-mode", "loopback",
		"--trust-model", "always", "--status-fd", "2"}
	cmd := exec.Command(g.bin, append(base, args...)...)
	cmd.Env = g.env()
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := &Result{Err: cmd.Run()}
	r.Output = stdout.Bytes()
	var human []string
	for _, line := range strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n") {
		if s, ok := strings.CutPrefix(line, "[GNUPG:] "); ok {
			r.Status = append(r.Status, s)
		} else if line != "" {
			human = append(human, line)
		}
	}
	r.Stderr = strings.Join(human, "\n")
	if r.Err != nil {
		r.Err = fmt.Errorf("gpg %s: %w: %s", strings.Join(args, " "), r.Err, r.Stderr)
	}
	return r
}

// must runs gpg and fails the test when it fails.
func (g *GPG) must(t testing.TB, stdin []byte, args ...string) *Result {
	t.Helper()
	r := g.Run(stdin, args...)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	return r
}

// GenerateKey makes a key pair with an encryption subkey (unattended
// --gen-key) and exports it.
func (g *GPG) GenerateKey(t testing.TB, name, email string, opts KeyOptions) *Key {
	t.Helper()
	var p strings.Builder
	switch alg := opts.Algorithm; {
	case alg == "" || alg == "ed25519" || alg == "ed25519/cv25519":
		p.WriteString("Key-Type: EDDSA\nKey-Curve: ed25519\nSubkey-Type: ECDH\nSubkey-Curve: cv25519\n")
	case alg == "nistp256":
		p.WriteString("Key-Type: ECDSA\nKey-Curve: nistp256\nSubkey-Type: ECDH\nSubkey-Curve: nistp256\n")
	case strings.HasPrefix(alg, "rsa"):
		bits, err := strconv.Atoi(strings.TrimPrefix(alg, "rsa"))
		if err != nil {
			t.Fatalf("gpgtest: bad algorithm %q", alg)
		}
		fmt.Fprintf(&p, "Key-Type: RSA\nKey-Length: %d\nSubkey-Type: RSA\nSubkey-Length: %d\n", bits, bits)
	default:
		t.Fatalf("gpgtest: unknown algorithm %q", alg)
	}
	p.WriteString("Key-Usage: sign\nSubkey-Usage: encrypt\n")
	fmt.Fprintf(&p, "Name-Real: %s\nName-Email: %s\n", name, email)
	if opts.Passphrase != "" {
		fmt.Fprintf(&p, "Passphrase: %s\n", opts.Passphrase)
	} else {
		p.WriteString("%no-protection\n")
	}
	if !opts.Created.IsZero() {
		fmt.Fprintf(&p, "Creation-Date: %s\n", opts.Created.UTC().Format("20060102T150405"))
	}
	if opts.Expiry > 0 {
		fmt.Fprintf(&p, "Expire-Date: seconds=%d\n", int64(opts.Expiry/time.Second))
	} else {
		p.WriteString("Expire-Date: 0\n")
	}
	p.WriteString("%commit\n")

	r := g.must(t, []byte(p.String()), "--gen-key")
	var fpr string
	for _, s := range r.Status {
		if f, ok := strings.CutPrefix(s, "KEY_CREATED "); ok {
			fpr = f[strings.IndexByte(f, ' ')+1:]
		}
	}
	if fpr == "" {
		t.Fatalf("gpg --gen-key reported no KEY_CREATED: %s", r.Stderr)
	}
	k := &Key{Name: name, Email: email, UserID: fmt.Sprintf("%s <%s>", name, email),
		Fingerprint: fpr, Passphrase: opts.Passphrase}
	g.describe(t, k)
	g.mu.Lock()
	g.keys = append(g.keys, k)
	g.mu.Unlock()
	return k
}

// describe fills in key IDs and the armored exports.
func (g *GPG) describe(t testing.TB, k *Key) {
	t.Helper()
	list := g.must(t, nil, "--with-colons", "--fixed-list-mode", "--list-keys", k.Fingerprint)
	for _, line := range strings.Split(string(list.Output), "\n") {
		f := strings.Split(line, ":")
		switch {
		case len(f) > 4 && f[0] == "pub":
			k.KeyID = f[4]
		case len(f) > 11 && f[0] == "sub" && strings.Contains(f[11], "e"):
			k.SubkeyIDs = append(k.SubkeyIDs, f[4])
		}
	}
	k.PublicKey = g.must(t, nil, "--armor", "--export", k.Fingerprint).Output
	k.SecretKey = g.must(t, nil, "--armor", "--passphrase", k.Passphrase,
		"--export-secret-keys", k.Fingerprint).Output
}

// Import adds keys (public or secret, armored or binary) made elsewhere,
// e.g. another GPG's Key.PublicKey. Passphrases of imported secret keys are
// known only when k is passed (as from another GPG).
func (g *GPG) Import(t testing.TB, k *Key) {
	t.Helper()
	g.must(t, k.PublicKey, "--import")
	if len(k.SecretKey) > 0 {
		g.must(t, k.SecretKey, "--passphrase", k.Passphrase, "--import")
	}
	g.mu.Lock()
	g.keys = append(g.keys, k)
	g.mu.Unlock()
}

// passphraseFor returns the passphrase of the first key here whose primary
// or subkey ID is among ids, or of any protected key when none matches
// (messages sent with --throw-keyids name no key).
func (g *GPG) passphraseFor(ids []string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range g.keys {
		for _, id := range ids {
			if strings.EqualFold(id, k.KeyID) || containsFold(k.SubkeyIDs, id) {
				return k.Passphrase
			}
		}
	}
	for _, k := range g.keys {
		if k.Passphrase != "" {
			return k.Passphrase
		}
	}
	return ""
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
