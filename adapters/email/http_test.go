package email_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/teamkey"
)

func newFormServer(t *testing.T, p *pipeline, limit int) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/report", email.NewFormHandler(p.in, email.FormOptions{
		MaxBytes: 64 << 10, RateLimit: limit, RateWindow: time.Hour, To: "security@example.org",
		UTF8Addresses: func() (bool, bool) { return false, true }, // a server without SMTPUTF8
	}, discard()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func postJSON(t *testing.T, url string, v any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("status %d: answer is not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func TestFormReportBecomesIncident(t *testing.T) {
	team, err := teamkey.Generate("Team", "security@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, team, pipelineOptions{})
	srv := newFormServer(t, p, 100)

	code, out := postJSON(t, srv.URL+"/report", map[string]string{
		"email": "rita@example.net", "name": "Rita", "subject": "XSS in search", "body": "The q parameter is reflected.\nCANARY-FORM",
	})
	if code != http.StatusCreated || out["incident"] != "SEC-1" {
		t.Fatalf("%d %v", code, out)
	}
	inc := p.incident(t, 1)
	if inc.Title != "XSS in search" || inc.Reporter != "rita@example.net" || inc.Encrypted {
		t.Errorf("incident %+v", inc)
	}
	if body := p.body(t, 1); !strings.Contains(body, "UNENCRYPTED text") || !strings.Contains(body, "The q parameter is reflected.") {
		t.Errorf("report:\n%s", body)
	}
	// A double submission is the same incident.
	if code, out := postJSON(t, srv.URL+"/report", map[string]string{
		"email": "rita@example.net", "name": "Rita", "subject": "XSS in search", "body": "The q parameter is reflected.\nCANARY-FORM",
	}); code != http.StatusCreated || out["incident"] != "SEC-1" || out["duplicate"] != true {
		t.Errorf("double submission: %d %v", code, out)
	}

	// A browser form, encrypted in the browser: an encrypted incident.
	armored, err := team.Encrypt([]byte("encrypted in the browser"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(srv.URL+"/report", url.Values{"subject": {"Browser-encrypted"}, "body": {string(armored)}})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(text), "tracked as SEC-2") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", resp.StatusCode, text)
	}
	if inc := p.incident(t, 2); !inc.Encrypted || inc.Reporter != "" {
		t.Errorf("browser-encrypted incident: %+v", inc)
	}
	data, _ := os.ReadFile(p.dbPath)
	wal, _ := os.ReadFile(p.dbPath + "-wal")
	if bytes.Contains(append(data, wal...), []byte("CANARY-FORM")) {
		t.Error("a form report is stored in plaintext")
	}
}

func TestFormRefusesBadInput(t *testing.T) {
	team, _ := teamkey.Generate("Team", "security@example.org", time.Now())
	p := newPipeline(t, team, pipelineOptions{})
	srv := newFormServer(t, p, 100)
	for _, tc := range []struct {
		name string
		body map[string]string
		code int
		want string
	}{
		{"empty", map[string]string{"subject": "x"}, 400, "the report is empty"},
		{"header injection", map[string]string{"subject": "x\r\nBcc: victim@example.com", "body": "b"}, 400, "one line each"},
		{"bad address", map[string]string{"email": "Rita <r@example.net>", "body": "b"}, 400, "not valid"},
		{"bad key", map[string]string{"body": "b", "public_key": "hello"}, 400, "ASCII-armored OpenPGP public key"},
		{"too large", map[string]string{"body": strings.Repeat("x", 70<<10)}, 413, "larger than"},
		{"NEL in the address", map[string]string{"email": "rita\u0085@example.net", "body": "b"}, 400, "one line each"},
		{"LS in the address", map[string]string{"email": "rita\u2028@example.net", "body": "b"}, 400, "one line each"},
		{"PS in the name", map[string]string{"email": "rita@example.net", "name": "Rita\u2029Bcc: x", "body": "b"}, 400, "one line each"},
		{"NUL in the subject", map[string]string{"subject": "a\x00b", "body": "b"}, 400, "one line each"},
		{"ESC in the subject", map[string]string{"subject": "a\x1b[31mb", "body": "b"}, 400, "one line each"},
		{"5000-byte address", map[string]string{"email": strings.Repeat("r", 5000) + "@example.net", "body": "b"}, 400, "not valid"},
		{"65-byte local part", map[string]string{"email": strings.Repeat("r", 65) + "@example.net", "body": "b"}, 400, "not valid"},
		{"zero-width space", map[string]string{"email": "ri\u200bta@example.net", "body": "b"}, 400, "not valid"},
		{"UTF-8 address without SMTPUTF8", map[string]string{"email": "rité@example.net", "body": "b"}, 400, "SMTPUTF8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := postJSON(t, srv.URL+"/report", tc.body)
			if code != tc.code || !strings.Contains(out["error"].(string), tc.want) {
				t.Errorf("%d %v, want %d %q", code, out, tc.code, tc.want)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/report")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if n, _ := p.db.CountIncidents(context.Background(), bot.IncidentFilter{}); n != 0 {
		t.Errorf("%d incidents from bad input", n)
	}
}

func TestFormRateLimit(t *testing.T) {
	team, _ := teamkey.Generate("Team", "security@example.org", time.Now())
	p := newPipeline(t, team, pipelineOptions{})
	srv := newFormServer(t, p, 2)
	for i := 0; i < 2; i++ {
		if code, out := postJSON(t, srv.URL+"/report", map[string]string{"body": "report " + string(rune('a'+i))}); code != 201 {
			t.Fatalf("report %d: %d %v", i, code, out)
		}
	}
	b, _ := json.Marshal(map[string]string{"body": "third"})
	resp, err := http.Post(srv.URL+"/report", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third report: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestFormAnswers503WhenStoreFails(t *testing.T) {
	h := email.NewFormHandler(failingReceiver{}, email.FormOptions{}, discard())
	req := httptest.NewRequest("POST", "/report", strings.NewReader(`{"body":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

type failingReceiver struct{}

func (failingReceiver) Receive(context.Context, bot.Submission) (bot.IntakeResult, error) {
	return bot.IntakeResult{}, io.ErrUnexpectedEOF
}

// TestSecurityTxtVerifiesWithGPG serves the file signed with a team key
// made by gpg and has gpg verify what an HTTP client gets.
func TestSecurityTxtVerifiesWithGPG(t *testing.T) {
	f := newGPGFixture(t)
	expires := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	st, err := email.NewSecurityTxt(email.SecurityTxtOptions{
		Contact:    []string{"mailto:security@example.org", "https://security.example.org/report"},
		Expires:    expires,
		Encryption: "https://security.example.org/pgp-key.asc", Canonical: "https://security.example.org/.well-known/security.txt",
		Policy: "https://example.org/policy", PreferredLanguages: []string{"en", "de"}, KeyPath: "/pgp-key.asc",
	}, f.team, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path string) ([]byte, *http.Response) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b, resp
	}
	text, resp := get("/.well-known/security.txt")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"-----BEGIN PGP SIGNED MESSAGE-----", "Contact: mailto:security@example.org\n", "Contact: https://security.example.org/report\n",
		"Expires: 2027-06-30T00:00:00.000Z\n", "Encryption: https://security.example.org/pgp-key.asc\n",
		"Preferred-Languages: en, de\n", "Canonical: https://security.example.org/.well-known/security.txt\n", "Policy: https://example.org/policy\n",
	} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("security.txt lacks %q:\n%s", want, text)
		}
	}
	// gpg, in a home that knows only the public key served at the Encryption URL.
	key, _ := get("/pgp-key.asc")
	verifier := newVerifierHome(t, key)
	r := verifier.Run(text, "--verify")
	if r.Err != nil || !r.Has("GOODSIG") || !strings.Contains(strings.Join(r.Status, "\n"), "VALIDSIG") ||
		!strings.Contains(strings.Join(r.Status, "\n"), f.teamG.Fingerprint) {
		t.Fatalf("gpg --verify: %v\n%s\n%v", r.Err, r.Stderr, r.Status)
	}
	if block, _ := clearsign.Decode(text); block == nil {
		t.Fatal("go-crypto cannot read the clearsigned file")
	} else if _, err := block.VerifySignature(f.team.Keyring(), nil); err != nil {
		t.Errorf("go-crypto verify: %v", err)
	}
	if _, resp := get("/security.txt"); resp.Request.URL.Path != "/.well-known/security.txt" {
		t.Errorf("legacy path not redirected: %s", resp.Request.URL)
	}
}

// newVerifierHome is a GnuPG home that holds only the given public key.
func newVerifierHome(t *testing.T, publicKey []byte) *gpgtest.GPG {
	t.Helper()
	g := gpgtest.New(t)
	g.Import(t, &gpgtest.Key{PublicKey: publicKey})
	return g
}
