package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
)

// TestPublishServedByDaemon runs the daemon with [publication] and publishes
// through `sectriage cmd` (another process, as a team member at a shell
// would): the daemon's listener then serves the advisory at /advisories/
// and the policy at /security/, security.txt points at it, and the files
// are in output_dir.
func TestPublishServedByDaemon(t *testing.T) {
	addr := freeAddr(t)
	site := t.TempDir()
	cfg, _ := intakeConfig(t, `
[server]
listen = "`+addr+`"
public_url = "https://security.example.org"

[security_txt]
contact = ["mailto:security@example.org"]
expires = "`+time.Now().Add(200*24*time.Hour).UTC().Format(time.RFC3339)+`"

[publication]
approvals = 1
vendor = "Example"
project = "Example Project"
osv_prefix = "x_EXAMPLE-"
output_dir = "`+site+`"

[policy]
scope = "libexample."
disclosure = "We publish with the fix."
mail = "security@example.org"
`)
	errOut := &syncBuffer{}
	d := startDaemon(t, cfg, errOut, nil)
	base := "http://" + addr
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/security/"); code != 200 || !strings.Contains(body, "libexample.") {
		t.Fatalf("GET /security/ before any advisory: %d\n%s", code, body)
	}
	resp, err := http.Post(base+"/report", "application/json", strings.NewReader(`{"email":"r@example.net","subject":"CANARY-SUBJECT overflow","body":"CANARY-BODY details"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if out["incident"] != "SEC-1" {
		t.Fatalf("POST /report: %v", out)
	}
	for _, c := range []struct{ who, line string }{
		{"alice", "ack 1"}, {"alice", "confirm 1"},
		{"bob", "advisory 1 set title Overflow in the parser"}, {"bob", "advisory 1 set summary A long header overflows a buffer."},
		{"bob", "advisory 1 set description The parser trusts a length field."}, {"bob", "advisory 1 affected libexample ..1.2.3"},
		{"bob", "advisory 1 ref patch https://git.example.org/c/1"}, {"alice", "approve 1"}, {"alice", "publish 1 now"},
	} {
		code, stdout, stderr := runCLI(t, "", append([]string{"cmd", "-config", cfg, "-as", c.who, "--"}, strings.Fields(c.line)...)...)
		if code != exitOK {
			t.Fatalf("%s as %s: exit %d\n%s%s", c.line, c.who, code, stdout, stderr)
		}
	}
	var page string
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get("/advisories/")
		if code == 200 && strings.Contains(body, "Overflow in the parser") {
			page = body
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon does not serve the advisory published by sectriage cmd: %d\n%s", code, body)
		}
		time.Sleep(50 * time.Millisecond) // the daemon looks for other processes' commits every second
	}
	if strings.Contains(page, "CANARY") {
		t.Error("the index shows the report's text")
	}
	id := time.Now().UTC().Format("2006") + "-1"
	if code, body := get("/advisories/" + id + ".html"); code != 200 || strings.Contains(body, "CANARY") {
		t.Errorf("GET the advisory page: %d", code)
	}
	if _, err := os.Stat(filepath.Join(site, "advisories", "x_EXAMPLE-"+id+".json")); err != nil {
		t.Errorf("OSV record not in output_dir: %v", err)
	}
	_, txt := get("/.well-known/security.txt")
	block, _ := clearsign.Decode([]byte(txt))
	if block == nil || !strings.Contains(string(block.Plaintext), "Policy: https://security.example.org/security/\n") ||
		!strings.Contains(string(block.Plaintext), "Acknowledgments: https://security.example.org/security/#acknowledgments") {
		t.Errorf("security.txt:\n%s", txt)
	}
	// check beside this daemon: [publication] adds no problem of its own,
	// only this config's known ones (no chat, acknowledgements without SMTP).
	code, checkOut, _ := runCLI(t, "", "check", "-config", cfg)
	wantOnlyErrors(t, code, checkOut, nobodyTold, ackNoSMTP)
	if !strings.Contains(checkOut, "ok:      [server] listen "+addr+": in use by a running sectriage") {
		t.Errorf("check does not recognise the daemon's listener:\n%s", checkOut)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("run: %v: %s", err, errOut.String())
	}
}
