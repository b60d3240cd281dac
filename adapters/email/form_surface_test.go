package email_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/teamkey"
)

// TestFormOversizedBodies: a report over the form's limit is 413 in every
// content type the form reads (and one it does not), whether the client
// declares its length or streams it chunked.
func TestFormOversizedBodies(t *testing.T) {
	team, _ := teamkey.Generate("Team", "security@example.org", time.Now())
	p := newPipeline(t, team, pipelineOptions{})
	srv := newFormServer(t, p, 1000)
	big := strings.Repeat("x", 70<<10) // the form takes 64 KiB
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("body", big)
	mw.Close()
	bodies := map[string][]byte{
		"application/x-www-form-urlencoded": []byte(url.Values{"body": {big}}.Encode()),
		mw.FormDataContentType():            mp.Bytes(),
		"application/json":                  []byte(`{"body":"` + big + `"}`),
		"text/plain":                        []byte(big),
	}
	for ctype, body := range bodies {
		for _, chunked := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(body)
			if chunked {
				r = io.MultiReader(r) // hides the length: Transfer-Encoding: chunked
			}
			req, _ := http.NewRequest("POST", srv.URL+"/report", r)
			req.Header.Set("Content-Type", ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			text, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s (chunked %v): %d %s", ctype, chunked, resp.StatusCode, text)
			}
		}
	}
}

// TestFormNoCORS: no answer of the form lets another origin's page read
// it or send it credentials, preflight included.
func TestFormNoCORS(t *testing.T) {
	team, _ := teamkey.Generate("Team", "security@example.org", time.Now())
	p := newPipeline(t, team, pipelineOptions{})
	srv := newFormServer(t, p, 1000)
	for _, method := range []string{"OPTIONS", "POST", "GET"} {
		req, _ := http.NewRequest(method, srv.URL+"/report", strings.NewReader(`{"body":"hi"}`))
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: %s: %s", method, k, resp.Header.Get(k))
			}
		}
		if method == "OPTIONS" && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("OPTIONS: %d", resp.StatusCode)
		}
	}
}

// TestFormUTF8Address: an address with UTF-8 in it is taken when the mail
// server offers SMTPUTF8, and refused with the reason until then.
func TestFormUTF8Address(t *testing.T) {
	team, _ := teamkey.Generate("Team", "security@example.org", time.Now())
	p := newPipeline(t, team, pipelineOptions{})
	offered, known := false, false
	mux := http.NewServeMux()
	mux.Handle("/report", email.NewFormHandler(p.in, email.FormOptions{
		MaxBytes: 64 << 10, RateLimit: 100, RateWindow: time.Hour,
		UTF8Addresses: func() (bool, bool) { return offered, known },
	}, discard()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	post := func() (int, map[string]any) {
		return postJSON(t, srv.URL+"/report", map[string]string{"email": "rité@exämple.net", "body": "b"})
	}
	if code, out := post(); code != 400 || !strings.Contains(out["error"].(string), "SMTPUTF8") {
		t.Errorf("before the server said: %d %v", code, out)
	}
	offered, known = true, true
	if code, out := post(); code != 201 {
		t.Errorf("with SMTPUTF8: %d %v", code, out)
	}
	if inc := p.incident(t, 1); inc.Reporter != "rité@exämple.net" {
		t.Errorf("reporter %q", inc.Reporter)
	}
}

// TestFormPublicKey: a key posted with the report becomes the reporter's
// key (the multipart message the form makes is read back whole).
func TestFormPublicKey(t *testing.T) {
	team, _ := teamkey.Generate("Team", "security@example.org", time.Now())
	p := newPipeline(t, team, pipelineOptions{})
	srv := newFormServer(t, p, 100)
	rita, _ := teamkey.Generate("Rita", "rita@example.net", time.Now().Add(-time.Hour))
	pub, err := rita.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	code, out := postJSON(t, srv.URL+"/report", map[string]string{"email": "rita@example.net", "body": "with my key", "public_key": string(pub)})
	if code != http.StatusCreated {
		t.Fatalf("%d %v", code, out)
	}
	// A double click: the same bytes, the same incident.
	if code, again := postJSON(t, srv.URL+"/report", map[string]string{"email": "rita@example.net", "body": "with my key", "public_key": string(pub)}); code != http.StatusCreated || again["incident"] != out["incident"] || again["duplicate"] != true {
		t.Errorf("double submission: %d %v", code, again)
	}
	rep, err := p.in.Report(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ReporterKeyFingerprint != rita.Fingerprint() || !strings.HasSuffix(rep.MessageID, "@web-form.sectriage.invalid>") {
		t.Errorf("reporter key %q (want %s), Message-ID %q", rep.ReporterKeyFingerprint, rita.Fingerprint(), rep.MessageID)
	}
}
