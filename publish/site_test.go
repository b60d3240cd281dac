package publish_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/net/html"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/publish"
)

func testSite(t *testing.T) *publish.Site {
	t.Helper()
	site, err := publish.Build(testSettings, testPolicy, allAdvisories(t))
	if err != nil {
		t.Fatal(err)
	}
	return site
}

var hrefRE = regexp.MustCompile(`(?:href|src)="([^"]*)"`)

// forbiddenMarkup parses a page and returns what the CSP forbids or the
// pages must never carry: script, style, frame, object and form elements
// other than ours, inline styles and event handlers, and anything loaded
// from another site.
func forbiddenMarkup(page []byte) []string {
	var bad []string
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return bad
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "style", "iframe", "frame", "object", "embed", "form", "base", "img":
				bad = append(bad, "<"+tok.Data+">")
			}
			for _, at := range tok.Attr {
				switch {
				case strings.HasPrefix(at.Key, "on"), at.Key == "style", at.Key == "srcset":
					bad = append(bad, tok.Data+" "+at.Key+"=")
				case at.Key == "src", at.Key == "href" && tok.Data == "link":
					if u, err := url.Parse(at.Val); err != nil || u.Host != "" || u.Scheme != "" {
						bad = append(bad, tok.Data+" loads "+at.Val)
					}
				case at.Key == "href" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(at.Val)), "javascript:"):
					bad = append(bad, "javascript: link")
				}
			}
		}
	}
}

// TestSitePagesLinkOnlyToThemselves walks every link of every page: each
// internal one must lead to a file the site has, and none may load an
// outside asset.
func TestSitePagesLinkOnlyToThemselves(t *testing.T) {
	site := testSite(t)
	pages := 0
	for name, b := range site.Files {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		pages++
		if bad := forbiddenMarkup(b); bad != nil {
			t.Errorf("%s contains %q", name, bad)
		}
		if !bytes.Contains(b, []byte(`<meta name="viewport" content="width=device-width, initial-scale=1">`)) {
			t.Errorf("%s has no viewport meta", name)
		}
		for _, m := range hrefRE.FindAllSubmatch(b, -1) {
			ref := string(m[1])
			u, err := url.Parse(ref)
			if err != nil {
				t.Errorf("%s: bad link %q", name, ref)
				continue
			}
			if u.Scheme == "mailto" || u.IsAbs() {
				continue // references and the report form; not loaded by the page
			}
			target := path.Join(path.Dir(name), u.Path)
			if strings.HasSuffix(u.Path, "/") {
				target += "/index.html"
			}
			if _, ok := site.Files[strings.TrimPrefix(target, "/")]; !ok {
				t.Errorf("%s links to %q (%s), which the site does not have", name, ref, target)
			}
		}
	}
	if pages != 5 { // index, 3 advisories, security policy
		t.Errorf("%d pages; want 5", pages)
	}
}

func TestSiteContent(t *testing.T) {
	site := testSite(t)
	index := string(site.Files["advisories/index.html"])
	// Newest first.
	i1, i2, i3 := strings.Index(index, "2026-1.html"), strings.Index(index, "2026-2.html"), strings.Index(index, "2026-3.html")
	if !(i3 < i2 && i2 < i1) || i1 < 0 {
		t.Errorf("index order: %d %d %d", i3, i2, i1)
	}
	page := string(site.Files["advisories/2026-2.html"])
	for _, want := range []string{
		"<h1>Heap overflow and path traversal in archive extraction</h1>",
		`<span class="id">CVE-2026-10002</span>, <span class="id">CVE-2026-10003</span>`, "CVSS 4.0 base score 9.3",
		"<td>libexample</td><td>2.0</td><td>2.0.0-rc1</td><td>not yet fixed</td>",
		"<td>example-py</td><td></td><td>all earlier versions</td><td>3.2.1</td>",
		`<a href="x_EXAMPLE-2026-2.json">OSV record</a>`, `<a href="CVE-2026-10003.json">`,
		"Grace H. (reporter)", "(updated 17 April 2026)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("advisory page lacks %q", want)
		}
	}
	if strings.Contains(page, "Secret Person") || strings.Contains(string(site.Files["security/index.html"]), "Secret Person") {
		t.Error("a credit without consent is published")
	}

	var feed struct {
		Updated string `xml:"updated"`
		Entries []struct {
			Title string `xml:"title"`
			ID    string `xml:"id"`
			Link  struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(site.Files["advisories/feed.atom"], &feed); err != nil {
		t.Fatal(err)
	}
	if len(feed.Entries) != 3 || feed.Entries[0].Link.Href != "https://security.example.org/advisories/2026-3.html" ||
		feed.Updated != "2026-05-01T08:00:00Z" || !strings.Contains(feed.Entries[1].Title, "CVE-2026-10003") {
		t.Errorf("feed: %+v", feed)
	}
}

// TestSecurityPolicyPage: the page states the deadlines it is given, not
// fixed text, and acknowledges the consenting credits.
func TestSecurityPolicyPage(t *testing.T) {
	p := testPolicy
	p.Deadlines = bot.DefaultDeadlines()
	p.Deadlines.Acknowledge = 24 * time.Hour
	p.Deadlines.Triage = 3 * 24 * time.Hour
	p.Deadlines.Fix = map[bot.Severity]time.Duration{bot.SeverityCritical: 5 * 24 * time.Hour, bot.SeverityLow: 120 * 24 * time.Hour}
	p.Deadlines.EmbargoMax = 90 * time.Minute
	site, err := publish.Build(testSettings, p, allAdvisories(t))
	if err != nil {
		t.Fatal(err)
	}
	page := string(site.Files["security/index.html"])
	for _, want := range []string{
		"within 24 hours.", "within 3 days of acknowledging",
		`<span class="sev sev-critical">critical</span></td><td>5 days</td>`,
		`<span class="sev sev-low">low</span></td><td>120 days</td>`,
		"embargoes to at most 90 minutes", `<a href="mailto:security@example.org">`,
		`<code class="fpr">0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567</code>`,
		"Third-party plugins are out of scope.", `Grace H. — <a href="../advisories/2026-2.html">`,
		"Ada Lovelace — ", "Example fuzzing team — ",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("policy page lacks %q", want)
		}
	}
	if strings.Contains(page, "medium") {
		t.Error("the page lists a severity the deadlines do not have")
	}
	empty, err := publish.Build(testSettings, testPolicy, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(empty.Files["security/index.html"], []byte("No advisories with credits")) ||
		!bytes.Contains(empty.Files["advisories/index.html"], []byte("No advisories have been published yet.")) {
		t.Error("empty site pages")
	}
}

func TestSiteHandler(t *testing.T) {
	site := testSite(t)
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tests := []struct {
		method, path string
		status       int
		ctype, body  string
	}{
		{"GET", "/advisories/", 200, "text/html; charset=utf-8", "security advisories</h1>"},
		{"GET", "/advisories/index.html", 200, "text/html; charset=utf-8", "security advisories</h1>"},
		{"GET", "/advisories", 301, "", ""},
		{"GET", "/security/", 200, "text/html; charset=utf-8", "security policy</h1>"},
		{"GET", "/security", 301, "", ""},
		{"GET", "/advisories/2026-1.html", 200, "text/html; charset=utf-8", "Cross-site scripting"},
		{"GET", "/advisories/style.css", 200, "text/css; charset=utf-8", "max-width"},
		{"GET", "/advisories/icon.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/advisories/feed.atom", 200, "application/atom+xml; charset=utf-8", "<feed"},
		{"GET", "/advisories/CVE-2026-10001.json", 200, "application/json", `"cveId": "CVE-2026-10001"`},
		{"GET", "/advisories/x_EXAMPLE-2026-3.json", 200, "application/json", `"id": "x_EXAMPLE-2026-3"`},
		{"HEAD", "/advisories/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/advisories/../go.mod", 404, "", ""},
		{"GET", "/advisories/nope.html", 404, "", ""},
		{"GET", "/", 404, "", ""},
		{"POST", "/advisories/", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			// Every response, errors included, carries the CSP.
			if got := resp.Header.Get("Content-Security-Policy"); got != publish.ContentSecurityPolicy {
				t.Errorf("CSP %q", got)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("body lacks %q", tt.body)
			}
		})
	}
	want := "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	if publish.ContentSecurityPolicy != want {
		t.Errorf("CSP changed: %q", publish.ContentSecurityPolicy)
	}
}

// TestSiteWriteDir: the static copy is byte for byte what the handler
// serves, and writing again (after a fix) replaces files in place.
func TestSiteWriteDir(t *testing.T) {
	site := testSite(t)
	dir := t.TempDir()
	for round := 0; round < 2; round++ {
		if err := site.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(dir, p)
		want, ok := site.Files[filepath.ToSlash(rel)]
		got, _ := os.ReadFile(p)
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: not a site file, or different bytes (a leftover temporary file?)", rel)
		}
		if info, _ := d.Info(); info.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v", rel, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(site.Files) {
		t.Errorf("wrote %d files; the site has %d", n, len(site.Files))
	}
}

// TestOutputsCarryNothingFromTheReport: a canary in the report (body,
// subject, attachment name, reporter address) never reaches any output,
// because outputs are made from the draft alone. The same check on a
// draft that does contain the canary must find it, so it can fail.
func TestOutputsCarryNothingFromTheReport(t *testing.T) {
	const canary = "CANARY-7f3a9c1e"
	report := &bot.Report{
		From: canary + "@reporter.example", Subject: "RCE in parser " + canary,
		Parts: []bot.ReportPart{
			{Kind: bot.PartText, Encrypted: true, Text: "Proof of concept: " + canary},
			{Kind: bot.PartAttachment, Name: canary + ".py", Text: "print('" + canary + "')"},
		},
	}
	inc := &bot.Incident{ID: 99, Title: report.Subject, Severity: bot.SeverityHigh, Assignee: "carol",
		CVEs: []string{"CVE-2026-10009"}}
	draft := func(extra string) bot.Advisory {
		return build(t, inc, "2026-9", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), func(a *bot.Advisory) error {
			return steps(
				func() error { return a.Set("title", "Remote code execution in the config parser") },
				func() error { return a.Set("summary", "Crafted configuration files run commands.") },
				func() error { return a.Set("description", "Upgrade to 3.0.1."+extra) },
				func() error { return a.AddAffected("exampled", rng(t, "..3.0.1")) },
				func() error { return a.SetPackage("exampled", "npm", "exampled", "") },
				func() error { return a.AddReference("patch", "https://git.example.org/exampled/pull/99") },
				func() error { return a.AddCredit(bot.Credit{Name: "R. Porter", Type: "reporter", Consent: true}) },
			)
		})
	}
	entity, err := openpgp.NewEntity("Team", "", "team@example.org", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	outputs := func(a bot.Advisory) map[string][]byte {
		out := map[string][]byte{}
		site, err := publish.Build(testSettings, testPolicy, []bot.Advisory{a})
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range site.Files {
			out["site:"+name] = b
		}
		mail, err := publish.SignAnnouncement(a, testSettings, entity, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out["mail subject"], out["mail body"] = []byte(mail.Subject), mail.Body
		return out
	}
	for name, b := range outputs(draft("")) {
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s contains the report's canary", name)
		}
	}
	found := 0
	for _, b := range outputs(draft(" " + canary)) {
		if bytes.Contains(b, []byte(canary)) {
			found++
		}
	}
	if found < 4 { // advisory page, OSV, CVE record, mail
		t.Errorf("a canary put in the draft was found in only %d outputs: the check is blind", found)
	}
}

func TestSettingsAndPolicyValidation(t *testing.T) {
	settings := []struct {
		name   string
		mutate func(s *publish.Settings)
		ok     bool
	}{
		{"valid", func(*publish.Settings) {}, true},
		{"registered prefix", func(s *publish.Settings) { s.OSVPrefix = "EXAMPLE-" }, true},
		{"real org id", func(s *publish.Settings) { s.CNAOrgID = "b3476cb9-2e3d-41a6-98d0-0f47421a65b6" }, true},
		{"no vendor", func(s *publish.Settings) { s.Vendor = "" }, false},
		{"base url slash", func(s *publish.Settings) { s.BaseURL += "/" }, false},
		{"base url relative", func(s *publish.Settings) { s.BaseURL = "/security" }, false},
		{"prefix without dash", func(s *publish.Settings) { s.OSVPrefix = "EXAMPLE" }, false},
		{"prefix with space", func(s *publish.Settings) { s.OSVPrefix = "EX AMPLE-" }, false},
		{"org id not v4", func(s *publish.Settings) { s.CNAOrgID = "b3476cb9-2e3d-11a6-98d0-0f47421a65b6" }, false},
		{"short name too long", func(s *publish.Settings) { s.CNAShortName = strings.Repeat("x", 33) }, false},
	}
	for _, tt := range settings {
		s := testSettings
		tt.mutate(&s)
		if err := s.Validate(); (err == nil) != tt.ok {
			t.Errorf("settings %s: %v", tt.name, err)
		}
	}
	policies := []struct {
		name   string
		mutate func(p *publish.Policy)
		ok     bool
	}{
		{"valid", func(*publish.Policy) {}, true},
		{"form only", func(p *publish.Policy) { p.Mail = "" }, true},
		{"no way to report", func(p *publish.Policy) { p.Mail, p.FormURL = "", "" }, false},
		{"mail with name", func(p *publish.Policy) { p.Mail = "Team <security@example.org>" }, false},
		{"form not http", func(p *publish.Policy) { p.FormURL = "javascript:alert(1)" }, false},
		{"short fingerprint", func(p *publish.Policy) { p.KeyFingerprint = "89AB CDEF" }, false},
		{"no scope", func(p *publish.Policy) { p.Scope = " " }, false},
	}
	for _, tt := range policies {
		p := testPolicy
		tt.mutate(&p)
		if err := p.Validate(); (err == nil) != tt.ok {
			t.Errorf("policy %s: %v", tt.name, err)
		}
	}

	// Every producer refuses an advisory that is not ready to publish.
	a := simpleAdvisory(t)
	broken := map[string]func(a *bot.Advisory){
		"no id":        func(a *bot.Advisory) { a.ID = "" },
		"id with path": func(a *bot.Advisory) { a.ID = "../x" },
		"unpublished":  func(a *bot.Advisory) { a.Published = time.Time{} },
		"no summary":   func(a *bot.Advisory) { a.Summary = "" },
		"no product":   func(a *bot.Advisory) { a.Affected = nil },
		"invalid":      func(a *bot.Advisory) { a.CWEs = []string{"79"} },
	}
	for name, mutate := range broken {
		b := a.Clone()
		mutate(&b)
		if _, err := publish.CVERecords(b, testSettings); err == nil {
			t.Errorf("CVERecords accepted %s", name)
		}
		if _, err := publish.OSVRecord(b, testSettings); err == nil {
			t.Errorf("OSVRecord accepted %s", name)
		}
		if _, _, err := publish.AnnouncementText(b, testSettings); err == nil {
			t.Errorf("AnnouncementText accepted %s", name)
		}
		if _, err := publish.Build(testSettings, testPolicy, []bot.Advisory{b}); err == nil {
			t.Errorf("Build accepted %s", name)
		}
	}
	if _, err := publish.Build(testSettings, testPolicy, []bot.Advisory{a, a}); err == nil {
		t.Error("Build accepted the same advisory id twice")
	}
}

// TestHostileDraftTextIsEscaped: whatever a team member types (or pastes
// from a report) is text on every page, in the feed and in the records,
// never markup.
func TestHostileDraftTextIsEscaped(t *testing.T) {
	const evil = `<script>alert("x")</script><img src=x onerror=alert(1)> & "q" 'a' </p><style>`
	inc := &bot.Incident{ID: 5, Severity: bot.SeverityMedium, Assignee: "carol"}
	a := build(t, inc, "2026-5", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), func(a *bot.Advisory) error {
		return steps(
			func() error { return a.Set("title", "T "+evil) },
			func() error { return a.Set("summary", "S "+evil) },
			func() error { return a.Set("description", "D "+evil+"\n\n"+evil) },
			func() error { return a.Set("workarounds", "W "+evil) },
			func() error { return a.AddAffected("P "+evil, rng(t, "0..1.0.0")) },
			func() error { return a.SetPackage("P "+evil, "npm", "p", "") },
			func() error { return a.AddReference("patch", `https://example.org/?q="><script>x</script>`) },
			func() error { return a.AddCredit(bot.Credit{Name: "C " + evil, Type: "finder", Consent: true}) },
		)
	})
	site, err := publish.Build(testSettings, testPolicy, []bot.Advisory{a})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range site.Files {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		if bad := forbiddenMarkup(b); bad != nil {
			t.Errorf("%s: draft text became markup: %q", name, bad)
		}
		if bytes.Contains(b, []byte("<img")) || bytes.Contains(b, []byte("</p><style>")) {
			t.Errorf("%s: draft text not escaped", name)
		}
	}
	var feed struct {
		Entries []struct {
			Title   string `xml:"title"`
			Summary string `xml:"summary"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(site.Files["advisories/feed.atom"], &feed); err != nil {
		t.Fatalf("feed is not XML: %v", err)
	}
	// The check itself must see markup when it is there.
	if bad := forbiddenMarkup([]byte(`<p style="x" onclick="y"><script></script><link href="https://cdn.example/x.css">`)); len(bad) != 4 {
		t.Errorf("forbiddenMarkup is blind: %q", bad)
	}
	if len(feed.Entries) != 1 || feed.Entries[0].Title != "T "+evil || feed.Entries[0].Summary != "S "+evil {
		t.Errorf("feed does not carry the text as text: %+v", feed.Entries)
	}
	if !bytes.Contains(site.Files["advisories/x_EXAMPLE-2026-5.json"], []byte(`"summary": "T \u003cscript\u003ealert(\"x\")`)) {
		t.Errorf("OSV record does not carry the title as a JSON string:\n%s", site.Files["advisories/x_EXAMPLE-2026-5.json"])
	}
}
