package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/sectriage/sectriage/internal/testenv/dovecot"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRunServesFormAndSecurityTxt runs the daemon in-process with its HTTP
// listener: a report posted to the form becomes an incident, security.txt
// is signed by the team key served next to it, and SIGTERM stops it all.
func TestRunServesFormAndSecurityTxt(t *testing.T) {
	addr := freeAddr(t)
	cfg, key := intakeConfig(t, `
[server]
listen = "`+addr+`"
public_url = "https://security.example.org"

[security_txt]
contact = ["mailto:security@example.org"]
expires = "`+time.Now().Add(200*24*time.Hour).UTC().Format(time.RFC3339)+`"
`)
	errOut := &syncBuffer{}
	d := startDaemon(t, cfg, errOut, nil)
	base := "http://" + addr

	resp, err := http.Post(base+"/report", "application/json", strings.NewReader(`{"email":"r@example.net","subject":"CSRF in settings","body":"details"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || out["incident"] != "SEC-1" {
		t.Fatalf("POST /report: %d %v\n%s", resp.StatusCode, out, errOut.String())
	}

	// The report page, wired with the team key, and its script.
	for path, want := range map[string]string{"/report": key.Fingerprint()[:4] + " " + key.Fingerprint()[4:8], "/report/assets/report.js": "openpgp.encrypt"} {
		resp, err = http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, lacks %q", path, resp.StatusCode, want)
		}
	}

	resp, err = http.Get(base + "/.well-known/security.txt")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	block, _ := clearsign.Decode(text)
	if block == nil || !strings.Contains(string(block.Plaintext), "Encryption: https://security.example.org/pgp-key.asc") ||
		!strings.Contains(string(block.Plaintext), "Canonical: https://security.example.org/.well-known/security.txt") {
		t.Fatalf("security.txt:\n%s", text)
	}
	if _, err := block.VerifySignature(key.Keyring(), nil); err != nil {
		t.Errorf("signature: %v", err)
	}
	resp, err = http.Get(base + "/pgp-key.asc")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(pub), "BEGIN PGP PUBLIC KEY BLOCK") || strings.Contains(string(pub), "PRIVATE") {
		t.Errorf("public key: %s", pub)
	}

	if err := d.stop(); err != nil {
		t.Fatalf("run: %v: %s", err, errOut.String())
	}
}

func TestCheckWarnsBeforeSecurityTxtExpires(t *testing.T) {
	soon := time.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339)
	cfg, _ := intakeConfig(t, `
[server]
listen = "127.0.0.1:0"
public_url = "https://security.example.org"

[security_txt]
contact = ["mailto:security@example.org"]
expires = "`+soon+`"
`)
	code, out, _ := runCLI(t, "", "check", "-config", cfg)
	wantOnlyErrors(t, code, out, nobodyTold, "[intake] acknowledge is on")
	if !strings.Contains(out, "warning: security.txt expires on") || !strings.Contains(out, "team key") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	past := strings.Replace(mustRead(t, cfg), soon, "2020-01-01T00:00:00Z", 1)
	writeFile(t, cfg, past)
	if code, out, _ := runCLI(t, "", "check", "-config", cfg); code != exitFailed || !strings.Contains(out, "error:   security.txt expired on 2020-01-01") {
		t.Fatalf("expired: exit %d\n%s", code, out)
	}
}

// TestCheckLogsInToTheMailServers: check reports a working IMAP login and
// a mail server it cannot reach.
func TestCheckLogsInToTheMailServers(t *testing.T) {
	srv := dovecot.Start(t, dovecot.Options{TLS: true})
	cfg, _ := intakeConfig(t, `
[email.imap]
address = "`+srv.TLSAddr+`"
ca_file = "`+srv.CertFile+`"
username = "`+srv.Username+`"
password_file = "imap-password"

[email.smtp]
address = "`+freeAddr(t)+`"
from = "security@example.org"
`)
	writeFile(t, filepath.Join(filepath.Dir(cfg), "imap-password"), srv.Password+"\n")
	code, out, _ := runCLI(t, "", "check", "-config", cfg)
	if code != exitFailed || !strings.Contains(out, "ok:      IMAP "+srv.TLSAddr+": logged in as security, mailbox INBOX") ||
		!strings.Contains(out, "error:   email.smtp 127.0.0.1:") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}
