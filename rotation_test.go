package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/teamkey"
)

// rotationSite is the config of the rotation tests, [keys] aside: the
// report side with security.txt, which publishes the current key.
var rotationSite = testConfig + `
[server]
listen = "127.0.0.1:0"
public_url = "https://security.example.org"

[security_txt]
contact = ["mailto:security@example.org"]
expires = "` + time.Now().Add(200*24*time.Hour).UTC().Format(time.RFC3339) + `"

[intake]
acknowledge = false # no [email.smtp] on this desk
`

// checkWell reports whether check found nothing wrong but what every
// rotation test desk has: no chat platform (they test keys, not chat).
func checkWell(code int, out string) bool {
	if code == exitOK {
		return true
	}
	errs := checkErrors(out)
	return code == exitFailed && len(errs) == 1 && strings.Contains(errs[0], nobodyTold)
}

// rotationFiles writes files (mode 0600) into dir and the config with
// keys as its [keys] section.
func rotationFiles(t *testing.T, dir, keys string, files map[string][]byte) string {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "sectriage.toml")
	if err := os.WriteFile(path, []byte(rotationSite+keys), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ingestMail runs `sectriage ingest` and returns its one line of output.
func ingestMail(t *testing.T, cfg string, mail []byte) string {
	t.Helper()
	code, out, errOut := runCLI(t, string(mail), "ingest", "-config", cfg)
	if code != exitOK {
		t.Fatalf("ingest: exit %d %q %s", code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// showIncident runs `sectriage cmd show` as an officer.
func showIncident(t *testing.T, cfg, id string) string {
	t.Helper()
	code, out, errOut := runCLI(t, "", "cmd", "-config", cfg, "-as", "alice", "--", "show", id)
	if code != exitOK {
		t.Fatalf("show %s: exit %d %s %s", id, code, out, errOut)
	}
	return out
}

// newTeamKeyByReadme makes the new team key with the gpg commands of the
// README's rotation procedure and returns its fingerprint and export.
func newTeamKeyByReadme(t *testing.T, g *gpgtest.GPG, passphrase string) (string, []byte) {
	t.Helper()
	run := func(args ...string) *gpgtest.Result {
		t.Helper()
		r := g.Run(nil, append([]string{"--passphrase", passphrase}, args...)...)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		return r
	}
	r := run("--quick-generate-key", "Security Team <security@example.org>", "ed25519", "sign", "2y")
	var fpr string
	for _, s := range r.Status {
		if f, ok := strings.CutPrefix(s, "KEY_CREATED "); ok {
			fpr = f[strings.IndexByte(f, ' ')+1:]
		}
	}
	if fpr == "" {
		t.Fatalf("no KEY_CREATED: %v", r.Status)
	}
	run("--quick-add-key", fpr, "cv25519", "encr", "2y")
	return fpr, run("--armor", "--export-secret-keys", fpr).Output
}

// restartDaemon runs `sectriage run` with the config at cfgPath as the restart of the rotation procedure, and returns the
// fingerprints of the keys its /pgp-key.asc serves (which security.txt
// names and is signed by). The daemon is stopped before it returns.
func restartDaemon(t *testing.T, cfgPath string) []string {
	t.Helper()
	errOut := &syncBuffer{}
	d := startDaemon(t, cfgPath, errOut, nil)
	defer func() {
		if err := d.stop(); err != nil {
			t.Errorf("the daemon: %v\n%s", err, errOut.String())
		}
	}()
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(d.base() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		return body
	}
	block, _ := clearsign.Decode(get("/.well-known/security.txt"))
	if block == nil || !bytes.Contains(block.Plaintext, []byte("Encryption: https://security.example.org/pgp-key.asc")) {
		t.Fatalf("security.txt does not name the served key")
	}
	list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(get("/pgp-key.asc")))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list {
		out = append(out, fmt.Sprintf("%X", e.PrimaryKey.Fingerprint))
	}
	if _, err := block.VerifySignature(list, nil); err != nil {
		t.Errorf("security.txt is not signed by the published key: %v", err)
	}
	return out
}

// TestKeyRotationProcedure runs the README's "Rotating the team key" with
// real GnuPG keys: the old key compromised and revoked, a new one made with
// the README's gpg commands, the config changed, then the retired key
// removed. Old reports stay readable throughout, mail to the old key is
// accepted until it is removed, only the new key is published, and the
// data key moves to the new key.
func TestKeyRotationProcedure(t *testing.T) {
	g := gpgtest.New(t)
	dir := t.TempDir()
	old := g.GenerateKey(t, "Security Team", "security@example.org", gpgtest.KeyOptions{Passphrase: "old secret"})
	cfg := rotationFiles(t, dir, `
[keys]
team_key_file = "team-secret.asc"
passphrase_file = "team-passphrase"
`, map[string][]byte{"team-secret.asc": old.SecretKey, "team-passphrase": []byte("old secret\n")})

	// Before: a report encrypted to the old key, and one in plaintext,
	// whose stored copy sectriage sealed to the old key.
	mail := func(subject, body string, to *gpgtest.Key) []byte {
		m := gpgtest.Mail{Subject: subject, Body: body}
		if to == nil {
			return gpgtest.PlainMail(t, m)
		}
		return g.PGPMIME(t, m, []*gpgtest.Key{to}, gpgtest.MIMEOptions{})
	}
	if id := ingestMail(t, cfg, mail("SQL injection in search", "CANARY-OLD-ENCRYPTED", old)); id != "SEC-1" {
		t.Fatalf("first report: %s", id)
	}
	if id := ingestMail(t, cfg, mail("XSS in comments", "CANARY-OLD-PLAIN", nil)); id != "SEC-2" {
		t.Fatalf("second report: %s", id)
	}
	// A reporter who fetched the old key before the rotation encrypts to it afterwards.
	late := mail("Late report to the old key", "CANARY-LATE", old)
	tooLate := mail("Report to the removed key", "CANARY-TOO-LATE", old)

	// 1. The new key, as the README makes it. 2. The old key was
	// compromised: revoked, and exported again with its revocation.
	newFpr, newSecret := newTeamKeyByReadme(t, g, "new secret")
	g.Revoke(t, old)
	// 3. The config: the new key current, the old one retired.
	cfg = rotationFiles(t, dir, `
[keys]
team_key_file = "team-secret-2027.asc"
passphrase_file = "team-passphrase-2027"

[[keys.retired]]
key_file = "team-secret.asc"
passphrase_file = "team-passphrase"
`, map[string][]byte{"team-secret-2027.asc": newSecret, "team-passphrase-2027": []byte("new secret\n"), "team-secret.asc": old.SecretKey})

	// 4. check: all well, the data key still wrapped to the retired key.
	code, out, _ := runCLI(t, "", "check", "-config", cfg)
	if !checkWell(code, out) || !strings.Contains(out, "retired team key "+old.Fingerprint) || !strings.Contains(out, "is revoked") ||
		!strings.Contains(out, "data key wrapped to retired team key "+old.Fingerprint) {
		t.Fatalf("check after the config change: exit %d\n%s", code, out)
	}
	// 5. The restarted daemon re-wraps the data key, and publishes only the
	// new key, with security.txt signed by it. Old reports read as before.
	if got := restartDaemon(t, cfg); len(got) != 1 || got[0] != newFpr {
		t.Errorf("published keys %v, want only the new %s", got, newFpr)
	}
	if _, out, _ := runCLI(t, "", "check", "-config", cfg); !strings.Contains(out, "data key wrapped to team key "+newFpr) {
		t.Errorf("check: the data key was not re-wrapped to the new key:\n%s", out)
	}
	for id, canary := range map[string]string{"1": "CANARY-OLD-ENCRYPTED", "2": "CANARY-OLD-PLAIN"} {
		if out := showIncident(t, cfg, id); !strings.Contains(out, canary) {
			t.Errorf("show %s after the rotation lacks %s:\n%s", id, canary, out)
		}
	}
	// New reports go to the new key (what the reporter fetched from
	// /pgp-key.asc); mail to the old key is still accepted.
	toNew := g.Run([]byte("Subject: x\r\n\r\nCANARY-NEW\r\n"), "--armor", "--encrypt", "--recipient", newFpr)
	if toNew.Err != nil {
		t.Fatal(toNew.Err)
	}
	if id := ingestMail(t, cfg, gpgtest.PGPMIMEEnvelope(gpgtest.Mail{Subject: "RCE in upload"}, toNew.Output)); id != "SEC-3" {
		t.Fatalf("report to the new key: %s", id)
	}
	if id := ingestMail(t, cfg, late); id != "SEC-4" {
		t.Fatalf("report to the old key after the rotation: %s", id)
	}
	for id, canary := range map[string]string{"3": "CANARY-NEW", "4": "CANARY-LATE"} {
		if out := showIncident(t, cfg, id); !strings.Contains(out, canary) {
			t.Errorf("show %s lacks %s:\n%s", id, canary, out)
		}
	}

	// 6. The retired key removed: the database opens with the new key
	// alone and what it sealed before the rotation reads.
	cfg = rotationFiles(t, dir, `
[keys]
team_key_file = "team-secret-2027.asc"
passphrase_file = "team-passphrase-2027"
`, nil)
	if code, out, _ := runCLI(t, "", "check", "-config", cfg); !checkWell(code, out) || strings.Contains(out, "retired") {
		t.Fatalf("check without the retired key: exit %d\n%s", code, out)
	}
	// What the reporter encrypted to the removed key cannot be read, and
	// show says so instead of failing.
	if out := showIncident(t, cfg, "1"); !strings.Contains(out, "cannot be read any more") || !strings.Contains(out, "wrong-key") {
		t.Errorf("show 1 without the retired key:\n%s", out)
	}
	for id, want := range map[string]string{"1": "SQL injection in search", "2": "CANARY-OLD-PLAIN", "3": "CANARY-NEW"} {
		if out := showIncident(t, cfg, id); !strings.Contains(out, want) {
			t.Errorf("show %s without the retired key lacks %q:\n%s", id, want, out)
		}
	}
	// Mail to the removed key is no longer accepted.
	if out := ingestMail(t, cfg, tooLate); !strings.HasPrefix(out, "quarantined Q-") {
		t.Errorf("report to the removed key: %s", out)
	}
}

// TestRevokedCurrentKeyHoldsMailUntilRotated: with the current key revoked,
// check says what is wrong and how to fix it, and ingest keeps each
// message (exit 0, not EX_TEMPFAIL forever) for the daemon to finish once
// the key is rotated.
func TestRevokedCurrentKeyHoldsMailUntilRotated(t *testing.T) {
	g := gpgtest.New(t)
	dir := t.TempDir()
	old := g.GenerateKey(t, "Security Team", "security@example.org", gpgtest.KeyOptions{})
	keysBefore := "\n[keys]\nteam_key_file = \"team-secret.asc\"\n"
	cfg := rotationFiles(t, dir, keysBefore, map[string][]byte{"team-secret.asc": old.SecretKey})
	if id := ingestMail(t, cfg, g.PGPMIME(t, gpgtest.Mail{Subject: "First"}, []*gpgtest.Key{old}, gpgtest.MIMEOptions{})); id != "SEC-1" {
		t.Fatal(id)
	}
	inFlight := g.PGPMIME(t, gpgtest.Mail{Subject: "In flight", Body: "CANARY-HELD-ENCRYPTED"}, []*gpgtest.Key{old}, gpgtest.MIMEOptions{})
	g.Revoke(t, old)
	rotationFiles(t, dir, keysBefore, map[string][]byte{"team-secret.asc": old.SecretKey})

	code, out, _ := runCLI(t, "", "check", "-config", cfg)
	for _, want := range []string{"error:   team key " + old.Fingerprint + " is revoked", "Rotate: make a new team key", "[[keys.retired]]",
		"`sectriage ingest` holds incoming reports"} {
		if code != exitFailed || !strings.Contains(out, want) {
			t.Errorf("check with a revoked team key: exit %d, want %q in\n%s", code, want, out)
		}
	}
	if code, _, errOut := runCLI(t, "", "cmd", "-config", cfg, "-as", "alice", "--", "list"); code == exitOK || !strings.Contains(errOut, "is revoked") {
		t.Errorf("cmd with a revoked team key: exit %d %s", code, errOut)
	}
	for i, m := range [][]byte{inFlight, gpgtest.PlainMail(t, gpgtest.Mail{Subject: "Plain", Body: "CANARY-HELD-PLAIN"})} {
		want := fmt.Sprintf("held report %d:", i+2)
		if out := ingestMail(t, cfg, m); !strings.HasPrefix(out, want) {
			t.Fatalf("ingest with a revoked key: %q, want %q", out, want)
		}
	}
	// The MTA delivering it again (it had crashed before reading exit 0).
	if out := ingestMail(t, cfg, inFlight); out != "report 2: received before" {
		t.Errorf("the held message delivered again: %q", out)
	}
	db, err := os.ReadFile(filepath.Join(dir, "st.db"))
	if err != nil {
		t.Fatal(err)
	}
	if wal, _ := os.ReadFile(filepath.Join(dir, "st.db-wal")); bytes.Contains(append(db, wal...), []byte("CANARY-HELD-PLAIN")) {
		t.Error("a held plaintext report is stored in plaintext")
	}

	// Rotated: the daemon finishes the held reports (as at its start).
	newFpr, newSecret := newTeamKeyByReadme(t, g, "")
	cfg = rotationFiles(t, dir, `
[keys]
team_key_file = "team-secret-2027.asc"

[[keys.retired]]
key_file = "team-secret.asc"
`, map[string][]byte{"team-secret-2027.asc": newSecret})
	c, ok := loadConfig(cfg, io.Discard)
	if !ok {
		t.Fatal("config")
	}
	a, err := openApp(context.Background(), c, discardLogger(), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := a.intake.intake.Resume(context.Background(), 0)
	a.Close()
	if n != 2 || err != nil {
		t.Fatalf("finishing the held reports: %d, %v", n, err)
	}
	for id, canary := range map[string]string{"2": "CANARY-HELD-ENCRYPTED", "3": "CANARY-HELD-PLAIN"} {
		if out := showIncident(t, cfg, id); !strings.Contains(out, canary) {
			t.Errorf("held report as SEC-%s lacks %s:\n%s", id, canary, out)
		}
	}
	if code, out, _ := runCLI(t, "", "check", "-config", cfg); !checkWell(code, out) || !strings.Contains(out, "team key "+newFpr) {
		t.Errorf("check after the rotation: exit %d\n%s", code, out)
	}
}

// TestCheckTeamKeyExpiry: check warns within 30 days of the current key's
// expiry and fails, with the way out, once it has expired.
func TestCheckTeamKeyExpiry(t *testing.T) {
	g := gpgtest.New(t)
	for name, tc := range map[string]struct {
		opts gpgtest.KeyOptions
		code int
		want string
	}{
		"in 10 days": {gpgtest.KeyOptions{Expiry: 10 * 24 * time.Hour}, exitOK, "warning: team key %s expires on "},
		"in 40 days": {gpgtest.KeyOptions{Expiry: 40 * 24 * time.Hour}, exitOK, "ok:      team key %s ("},
		"expired":    {gpgtest.KeyOptions{Created: time.Now().Add(-48 * time.Hour), Expiry: 24 * time.Hour}, exitFailed, "error:   team key %s expired on "},
	} {
		t.Run(name, func(t *testing.T) {
			k := g.GenerateKey(t, "Security Team", "security@example.org", tc.opts)
			cfg := rotationFiles(t, t.TempDir(), "\n[keys]\nteam_key_file = \"team.asc\"\n", map[string][]byte{"team.asc": k.SecretKey})
			code, out, _ := runCLI(t, "", "check", "-config", cfg)
			if ok := code == tc.code || (tc.code == exitOK && checkWell(code, out)); !ok || !strings.Contains(out, fmt.Sprintf(tc.want, k.Fingerprint)) {
				t.Errorf("exit %d, want %d and %q in\n%s", code, tc.code, fmt.Sprintf(tc.want, k.Fingerprint), out)
			}
		})
	}
}

// TestRetiredKeyConfig: a retired key without its own passphrase file is
// unlocked with the current key's passphrase; its file is a secret file
// (loose modes refused); a wrong passphrase and a key named twice are
// errors that name the file.
func TestRetiredKeyConfig(t *testing.T) {
	gen := func(name, pass string) []byte {
		k, err := teamkey.Generate(name, "security@example.org", time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		armored, err := k.ArmoredSecret([]byte(pass))
		if err != nil {
			t.Fatal(err)
		}
		return armored
	}
	dir := t.TempDir()
	files := map[string][]byte{"new.asc": gen("New", "shared"), "old.asc": gen("Old", "shared"),
		"older.asc": gen("Older", "own"), "pass": []byte("shared\n"), "older-pass": []byte("own\n")}
	load := func(keys string) (*teamkey.Key, error) {
		t.Helper()
		cfg, ok := loadConfig(rotationFiles(t, dir, "\n[keys]\nteam_key_file = \"new.asc\"\npassphrase_file = \"pass\"\n"+keys, files), io.Discard)
		if !ok {
			return nil, fmt.Errorf("config refused")
		}
		return loadTeamKey(cfg)
	}
	key, err := load("[[keys.retired]]\nkey_file = \"old.asc\"\n[[keys.retired]]\nkey_file = \"older.asc\"\npassphrase_file = \"older-pass\"\n")
	if err != nil || len(key.Retired()) != 2 {
		t.Fatalf("retired keys: %v", err)
	}
	// Loading is lazy: the wrong passphrase shows at the first unlock.
	if key, err := load("[[keys.retired]]\nkey_file = \"older.asc\"\n"); err != nil {
		t.Errorf("loading a retired key with another passphrase: %v", err)
	} else if err := key.Unlock(); err == nil || !strings.Contains(err.Error(), "older.asc") || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("a retired key with another passphrase and no passphrase_file: %v", err)
	}
	files = nil
	if err := os.Chmod(filepath.Join(dir, "old.asc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load("[[keys.retired]]\nkey_file = \"old.asc\"\n"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a retired key readable by others: %v", err)
	}
	code, out, _ := runCLI(t, "", "check", "-config", rotationFiles(t, dir,
		"\n[keys]\nteam_key_file = \"new.asc\"\n[[keys.retired]]\nkey_file = \"new.asc\"\n[[keys.retired]]\n", nil))
	if code != exitFailed || !strings.Contains(out, "keys.retired[0].key_file") || !strings.Contains(out, "named twice") ||
		!strings.Contains(out, "keys.retired[1].key_file") {
		t.Errorf("check of a key named twice and one without key_file: exit %d\n%s", code, out)
	}
}
