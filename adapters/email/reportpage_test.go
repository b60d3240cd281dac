package email_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/teamkey"
)

// pageServer is the report page on a real pipeline, with the body of
// every post the server receives recorded before any handler sees it.
type pageServer struct {
	*httptest.Server
	p      *pipeline
	mu     sync.Mutex
	bodies [][]byte
	// smtpUTF8 is what the mail server is said to offer (known).
	smtpUTF8 bool
}

func (s *pageServer) posts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func (s *pageServer) received() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Join(s.bodies, []byte("\n"))
}

// newPageServer: with mail, acknowledgements and stage mails are queued.
func newPageServer(t *testing.T, limit int, mail bool) *pageServer {
	t.Helper()
	team, err := teamkey.Generate("Team", "security@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	ps := &pageServer{Server: srv}
	ps.p = newPipeline(t, team, pipelineOptions{statusURL: base + email.StatusPath, reporterMail: mail, notifyReporter: mail})
	// The pipeline's clock is the manual one of the test; the page's
	// answers do not depend on it.
	ps.p.clock.Set(time.Now())
	form := email.NewFormHandler(ps.p.in, email.FormOptions{
		MaxBytes: 4 << 20, RateLimit: limit, RateWindow: time.Hour, To: "security@example.org",
		UTF8Addresses: func() (bool, bool) {
			ps.mu.Lock()
			defer ps.mu.Unlock()
			return ps.smtpUTF8, true
		},
	}, discard())
	key, err := team.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	page, err := email.NewReportPage(form, ps.p.in, email.PageOptions{TeamKey: key, Fingerprint: team.Fingerprint(), KeyURL: "/pgp-key.asc"}, discard())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/report", form)
	page.Register(mux)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost {
			ps.mu.Lock()
			ps.bodies = append(ps.bodies, b)
			ps.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		mux.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return ps
}

// mailsTo lists the queued mails to addr, oldest first.
func (s *pageServer) mailsTo(t *testing.T, addr string) []string {
	t.Helper()
	msgs, err := s.p.db.DueMessagesWhere(context.Background(), bot.OutboxFilter{Platforms: []string{bot.PlatformEmail}}, time.Now().Add(24*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Dest.Address == addr {
			out = append(out, bot.RenderPlain(m.Text))
		}
	}
	return out
}

var (
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	statusLink = regexp.MustCompile(`id="status-link" href="([^"]+)"`)
)

// client is a browser without JavaScript: a cookie jar.
func pageClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func getPage(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// postMultipart posts fields and files ("name=filename" → content).
func postMultipart(t *testing.T, c *http.Client, url string, fields map[string]string, files map[string]string) (int, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for name, content := range files {
		field, filename, _ := strings.Cut(name, "=")
		fw, _ := mw.CreateFormFile(field, filename)
		_, _ = fw.Write([]byte(content))
	}
	_ = mw.Close()
	resp, err := c.Post(url, mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func TestReportPageServesAFormUnderAStrictCSP(t *testing.T) {
	s := newPageServer(t, 100, true)
	code, body, h := getPage(t, pageClient(t), s.URL+"/report")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /report: %d %s", code, h.Get("Content-Type"))
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self' 'sha384-", "form-action 'self'", "frame-ancestors 'none'", "connect-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows something unsafe: %s", csp)
	}
	// Every script is a file from here with an integrity hash the CSP names.
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1)
	if len(scripts) != 2 {
		t.Fatalf("scripts: %q", scripts)
	}
	for _, tag := range scripts {
		m := regexp.MustCompile(`src="(/report/assets/[a-z.]+\?v=[0-9a-f]{12})" integrity="(sha384-[^"]+)"`).FindStringSubmatch(tag)
		if m == nil || !strings.Contains(csp, "'"+html.UnescapeString(m[2])+"'") {
			t.Errorf("script %s: no integrity named by the CSP", tag)
		}
	}
	for _, want := range []string{`<label for="summary">`, `type="file"`, `name="email"`, `name="public_key"`, `name="credit"`,
		`name="version"`, `enctype="multipart/form-data"`, `name="viewport"`, "-----BEGIN PGP PUBLIC KEY BLOCK-----", "OpenPGP.js " + email.OpenPGPJSVersion} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if h.Get("Set-Cookie") == "" || !strings.Contains(h.Get("Set-Cookie"), "SameSite=Strict") || !strings.Contains(h.Get("Set-Cookie"), "HttpOnly") {
		t.Errorf("CSRF cookie: %q", h.Get("Set-Cookie"))
	}
	// The embedded OpenPGP.js is the pinned release and comes with its licence.
	js, _ := os.ReadFile("assets/openpgp.min.js")
	code, served, _ := getPage(t, http.DefaultClient, s.URL+"/report/assets/openpgp.min.js")
	if code != 200 || served != string(js) || !strings.Contains(served, "OpenPGP.js v"+email.OpenPGPJSVersion) {
		t.Errorf("openpgp.min.js: %d, %d bytes", code, len(served))
	}
	if code, lic, _ := getPage(t, http.DefaultClient, s.URL+"/report/assets/openpgp.LICENSE"); code != 200 || !strings.Contains(lic, "GNU LESSER GENERAL PUBLIC LICENSE") {
		t.Errorf("licence: %d", code)
	}
	if code, _, _ := getPage(t, http.DefaultClient, s.URL+"/report/assets/../../go.mod"); code != 404 {
		t.Errorf("asset outside the set: %d", code)
	}
}

func TestReportPageRefusesPostsWithoutItsToken(t *testing.T) {
	s := newPageServer(t, 100, true)
	fields := map[string]string{"summary": "x", "details": "CANARY-CSRF"}
	// No cookie, no token: a page elsewhere posting a visitor's browser here.
	if code, body := postMultipart(t, pageClient(t), s.URL+"/report/send", fields, nil); code != 403 || !strings.Contains(body, "another site") {
		t.Errorf("no token: %d %s", code, body)
	}
	// A token from another browser's cookie.
	other := pageClient(t)
	_, page, _ := getPage(t, other, s.URL+"/report")
	c := pageClient(t)
	getPage(t, c, s.URL+"/report")
	fields["csrf"] = csrfField.FindStringSubmatch(page)[1]
	if code, _ := postMultipart(t, c, s.URL+"/report/send", fields, nil); code != 403 {
		t.Errorf("someone else's token: %d", code)
	}
	if n, _ := s.p.db.CountIncidents(context.Background(), bot.IncidentFilter{}); n != 0 {
		t.Errorf("%d incidents from refused posts", n)
	}
}

// TestReportPageWithoutJavaScript: the form as a browser without
// JavaScript sends it, attachment included; the server encrypts it on
// arrival (nothing in the database is plaintext); the answer's status
// link shows the state, takes a follow-up, and dies when revoked.
func TestReportPageWithoutJavaScript(t *testing.T) {
	s := newPageServer(t, 100, true)
	c := pageClient(t)
	_, page, _ := getPage(t, c, s.URL+"/report")
	fields := map[string]string{"csrf": csrfField.FindStringSubmatch(page)[1], "summary": "Overflow in the SIP parser",
		"details": "Send a long Via header.\nCANARY-NOJS-DETAILS", "version": "5.8.1", "email": "rita@example.net", "credit": "Rita R."}
	code, answer := postMultipart(t, c, s.URL+"/report/send", fields, map[string]string{"attachments=poc (1);x\\\"é.py": "print('CANARY-NOJS-ATTACH')\n"})
	if code != 201 || !strings.Contains(answer, "tracked as SEC-1") {
		t.Fatalf("%d %s", code, answer)
	}
	inc := s.p.incident(t, 1)
	if inc.Title != "Overflow in the SIP parser" || inc.Reporter != "rita@example.net" {
		t.Errorf("incident %+v", inc)
	}
	report := s.p.body(t, 1)
	for _, want := range []string{"CANARY-NOJS-DETAILS", "Affected version: 5.8.1", "Credit: Rita R.", `"poc (1);x\\\"é.py"`, "CANARY-NOJS-ATTACH"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	link := statusLink.FindStringSubmatch(answer)
	if link == nil {
		t.Fatalf("no status link in the answer:\n%s", answer)
	}
	token := strings.TrimPrefix(link[1], s.URL+email.StatusPath)
	if len(token) < 22 { // 128 bits in base64url
		t.Fatalf("status token %q is too short", token)
	}

	// The status page: reference, state, dates; nothing of the report.
	code, status, h := getPage(t, c, link[1])
	if code != 200 || !strings.Contains(status, "Report SEC-1") || !strings.Contains(status, "<strong>received</strong>") ||
		h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("status: %d\n%s", code, status)
	}
	for _, secret := range []string{"CANARY", "Overflow", "rita@", "alice", "bob"} {
		if strings.Contains(status, secret) {
			t.Errorf("the status page shows %q", secret)
		}
	}
	officer := bot.Actor{Person: s.p.svc.Settings().People.ByName("alice"), Platform: bot.PlatformConsole}
	if _, err := s.p.svc.Claim(context.Background(), officer, bot.Member, 1); err != nil {
		t.Fatal(err)
	}
	if _, status, _ = getPage(t, c, link[1]); !strings.Contains(status, "<strong>confirmed</strong>") || !strings.Contains(status, bot.StageMeaning(bot.StageConfirmed)) {
		t.Errorf("after claim:\n%s", status)
	}
	// The acknowledgement carries the same link; the claim mailed the
	// reporter the new stage ([intake] notify_reporter).
	mails := s.mailsTo(t, "rita@example.net")
	if len(mails) != 2 || !strings.Contains(mails[0], link[1]) || !strings.Contains(mails[1], "SEC-1 is now confirmed") {
		t.Errorf("mails to the reporter:\n%s", strings.Join(mails, "\n----\n"))
	}
	if strings.Contains(mails[1], link[1]) || strings.Contains(mails[1], "Overflow") {
		t.Errorf("the stage mail says more than the stage:\n%s", mails[1])
	}

	// A follow-up through the link, sent without JavaScript; sent twice
	// (a reload), it is one follow-up, taken through the pipeline of a
	// reply by mail.
	followUp := map[string]string{"csrf": csrfField.FindStringSubmatch(status)[1],
		"details": "It also crashes with a long To.\nCANARY-NOJS-FOLLOWUP"}
	for range 2 {
		code, status = postMultipart(t, c, link[1], followUp, nil)
		if code != 201 || !strings.Contains(status, "was added to SEC-1") {
			t.Fatalf("follow-up: %d %s", code, status)
		}
	}
	if a := s.p.incident(t, 1).Assignee; a != "alice" {
		t.Fatalf("assignee %q", a)
	}
	checkStatusFollowUp(t, s.p, 1, "CANARY-NOJS-FOLLOWUP")
	data, _ := os.ReadFile(s.p.dbPath)
	wal, _ := os.ReadFile(s.p.dbPath + "-wal")
	if bytes.Contains(append(data, wal...), []byte("CANARY-NOJS")) {
		t.Error("the database holds a report or follow-up in plaintext")
	}

	// Revoked: the link shows nothing any more.
	if _, _, err := s.p.svc.RevokeStatus(context.Background(), officer, bot.Officer, s.p.db, 1); err != nil {
		t.Fatal(err)
	}
	if code, status, _ := getPage(t, c, link[1]); code != 404 || strings.Contains(status, "SEC-1") {
		t.Errorf("revoked link: %d %s", code, status)
	}
	member := bot.Actor{Person: s.p.svc.Settings().People.ByName("bob"), Platform: bot.PlatformConsole}
	if _, _, err := s.p.svc.RevokeStatus(context.Background(), member, bot.Officer, s.p.db, 1); bot.KindOf(err) != bot.KindForbidden {
		t.Errorf("a member revoking: %v", err)
	}
	if code, _, _ := getPage(t, c, s.URL+email.StatusPath+strings.Repeat("A", 43)); code != 404 {
		t.Errorf("a made-up link: %d", code)
	}
}

func TestReportPageSharesTheFormsRateLimit(t *testing.T) {
	s := newPageServer(t, 2, true)
	c := pageClient(t)
	_, page, _ := getPage(t, c, s.URL+"/report")
	csrf := csrfField.FindStringSubmatch(page)[1]
	for i := 0; i < 2; i++ {
		if code, body := postMultipart(t, c, s.URL+"/report/send", map[string]string{"csrf": csrf, "summary": "s", "details": "report " + string(rune('a'+i))}, nil); code != 201 {
			t.Fatalf("report %d: %d %s", i, code, body)
		}
	}
	if code, _ := postJSON(t, s.URL+"/report", map[string]string{"body": "third, by the API"}); code != http.StatusTooManyRequests {
		t.Errorf("the API after two page reports: %d", code)
	}
}

// TestReportPageAnswers413ForOversizedBodies: every post route of the
// page, whatever the content type, declared length or chunked, and (for
// a status link) whether the link is good.
func TestReportPageAnswers413ForOversizedBodies(t *testing.T) {
	s := newPageServer(t, 100, true)
	c := pageClient(t)
	_, page, _ := getPage(t, c, s.URL+"/report")
	code, body := postMultipart(t, c, s.URL+"/report/send", map[string]string{"csrf": csrfField.FindStringSubmatch(page)[1], "summary": "s", "details": "d"},
		map[string]string{"attachments=big.bin": strings.Repeat("x", 5<<20)})
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 4 MiB") {
		t.Errorf("%d %s", code, body)
	}
	res := s.p.receive(t, bot.SourcePipe, []byte("From: rita@example.net\r\nSubject: x\r\n\r\nreport\r\n"))
	link, err := s.p.in.IssueStatus(context.Background(), res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 5<<20)
	for _, path := range []string{"/report/send", strings.TrimPrefix(link, s.URL), email.StatusPath + "not-a-link-at-all-0123456789"} {
		for _, ctype := range []string{"multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/octet-stream"} {
			for _, chunked := range []bool{false, true} {
				var r io.Reader = strings.NewReader(big)
				if chunked {
					r = io.MultiReader(r) // no length: chunked
				}
				resp, err := c.Post(s.URL+path, ctype, r)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge {
					t.Errorf("%s %s chunked %v: %d", path, ctype, chunked, resp.StatusCode)
				}
			}
		}
	}
}

// TestStatusLinkStoredOnlyHashed: the database holds the hash of a status
// link's secret, never the secret (here without mail: the acknowledgement
// in the outbox carries the link to the reporter).
func TestStatusLinkStoredOnlyHashed(t *testing.T) {
	s := newPageServer(t, 100, false)
	c := pageClient(t)
	_, page, _ := getPage(t, c, s.URL+"/report")
	code, answer := postMultipart(t, c, s.URL+"/report/send", map[string]string{"csrf": csrfField.FindStringSubmatch(page)[1],
		"summary": "s", "details": "d", "email": "rita@example.net"}, nil)
	link := statusLink.FindStringSubmatch(answer)
	if code != 201 || link == nil {
		t.Fatalf("%d %s", code, answer)
	}
	token := strings.TrimPrefix(link[1], s.URL+email.StatusPath)
	if id, err := s.p.db.StatusToken(context.Background(), bot.HashStatusToken(token)); err != nil || id != 1 {
		t.Fatalf("the hash does not find SEC-1: %d %v", id, err)
	}
	data, _ := os.ReadFile(s.p.dbPath)
	wal, _ := os.ReadFile(s.p.dbPath + "-wal")
	if bytes.Contains(append(data, wal...), []byte(token)) {
		t.Error("the database holds a status link's secret")
	}
}

// TestReportPageTakesABrowserEncryptedReport posts what report.js makes
// (a MIME message with protected headers, encrypted to the team key),
// without a browser: the incident takes its subject, reporter and
// attachment from inside the encryption.
func TestReportPageTakesABrowserEncryptedReport(t *testing.T) {
	s := newPageServer(t, 100, false)
	c := pageClient(t)
	_, page, _ := getPage(t, c, s.URL+"/report")
	inner := "MIME-Version: 1.0\r\nSubject: =?utf-8?B?SGVhcCBvdmVyZmxvdyDinJM=?=\r\nFrom: <rita@example.net>\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b\"; protected-headers=\"v1\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSummary: Heap overflow\r\n\r\nCANARY-ENC-DETAILS\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''poc%201.py\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nQ0FOQVJZLUVOQy1BVFRBQ0gK\r\n--b--\r\n"
	armored, err := s.p.team.Encrypt([]byte(inner))
	if err != nil {
		t.Fatal(err)
	}
	code, answer := postMultipart(t, c, s.URL+"/report/send", map[string]string{"csrf": csrfField.FindStringSubmatch(page)[1],
		"encrypted": string(armored)}, nil)
	if code != 201 || !strings.Contains(answer, "tracked as SEC-1") || statusLink.FindStringSubmatch(answer) == nil {
		t.Fatalf("%d %s", code, answer)
	}
	inc := s.p.incident(t, 1)
	if !inc.Encrypted || inc.Title != "Heap overflow ✓" || inc.Reporter != "rita@example.net" {
		t.Errorf("incident: %+v", inc)
	}
	report := s.p.body(t, 1)
	for _, want := range []string{"Encrypted text", "CANARY-ENC-DETAILS", `Encrypted attachment "poc 1.py"`, "CANARY-ENC-ATTACH"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if bytes.Contains(s.received(), []byte("CANARY-ENC")) {
		t.Error("the test sent plaintext")
	}
	// Encrypted to another key: received, quarantined, and the answer
	// names the entry the officers see.
	other, err := teamkey.Generate("Other", "other@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := other.Encrypt([]byte(inner))
	code, answer = postMultipart(t, c, s.URL+"/report/send", map[string]string{"csrf": csrfField.FindStringSubmatch(page)[1],
		"encrypted": string(wrong)}, nil)
	if q := s.p.quarantine(t); code != http.StatusAccepted || len(q) != 1 || !strings.Contains(answer, q[0].Name()) || statusLink.MatchString(answer) {
		t.Errorf("wrong key: %d %s", code, answer)
	}
	// Anything but an armored message in "encrypted" is refused.
	if code, body := postMultipart(t, c, s.URL+"/report/send", map[string]string{"csrf": csrfField.FindStringSubmatch(page)[1],
		"encrypted": "hello"}, nil); code != 400 || !strings.Contains(body, "not an armored OpenPGP message") {
		t.Errorf("garbage: %d %s", code, body)
	}
}

// TestStatusFollowUpsAreBounded: a status link takes MaxFollowUps
// additions, then refuses more; a link that does not decode refuses too.
func TestStatusFollowUpsAreBounded(t *testing.T) {
	s := newPageServer(t, 100, false)
	ctx := context.Background()
	res := s.p.receive(t, bot.SourcePipe, []byte("From: rita@example.net\r\nSubject: x\r\n\r\nreport\r\n"))
	link, err := s.p.in.IssueStatus(ctx, res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimPrefix(link, s.URL+email.StatusPath)
	for i := 0; i < bot.MaxFollowUps; i++ {
		if _, err := s.p.in.AddFollowUp(ctx, token, bot.SourceWeb, []byte(fmt.Sprintf("Subject: more\r\n\r\naddition %d\r\n", i))); err != nil {
			t.Fatalf("follow-up %d: %v", i, err)
		}
	}
	if _, err := s.p.in.AddFollowUp(ctx, token, bot.SourceWeb, []byte("Subject: more\r\n\r\none too many\r\n")); bot.KindOf(err) != bot.KindInvalid {
		t.Errorf("follow-up %d: %v", bot.MaxFollowUps+1, err)
	}
	v, err := s.p.in.StatusView(ctx, token)
	if err != nil || v.FollowUps != bot.MaxFollowUps {
		t.Errorf("view: %+v %v", v, err)
	}
	if _, err := s.p.in.AddFollowUp(ctx, "not-a-real-token-but-long-enough", bot.SourceWeb, []byte("x")); bot.KindOf(err) != bot.KindNotFound {
		t.Errorf("unknown link: %v", err)
	}
}

// checkStatusFollowUp: incident id took exactly one follow-up, through
// its status link, by the path every follow-up takes: linked as
// status-page, shown once by show, one timeline entry, one notice in the
// incident's channel and one ping to the assignee (if any), none with the
// content.
func checkStatusFollowUp(t *testing.T, p *pipeline, id int64, canary string) {
	t.Helper()
	ctx := context.Background()
	assignee, wantPings := p.incident(t, id).Assignee, 1
	if assignee == "" {
		wantPings = 0
	}
	fs, err := p.db.FollowUps(ctx, id)
	if err != nil || len(fs) != 1 || fs[0].MatchedBy != bot.FollowUpByStatus {
		t.Errorf("follow-ups of %d: %+v %v", id, fs, err)
	}
	report := p.body(t, id)
	if strings.Count(report, canary) != 1 || strings.Count(report, "Follow-up ") != 1 ||
		!strings.Contains(report, "Follow-up 1 (") || !strings.Contains(report, bot.FollowUpByStatus) {
		t.Errorf("show does not hold the follow-up once:\n%s", report)
	}
	_, events, err := p.svc.Timeline(ctx, bot.SystemActor(), id)
	if err != nil {
		t.Fatal(err)
	}
	entries := 0
	for _, ev := range events {
		if ev.Kind == bot.EventFollowUp {
			entries++
			if !strings.Contains(ev.Details, "status link") {
				t.Errorf("the timeline entry does not say how it came: %s", ev.Details)
			}
		}
	}
	msgs, err := p.db.DueMessages(ctx, time.Now().AddDate(100, 0, 0), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var notices, pings int
	for _, m := range msgs {
		text := bot.RenderPlain(m.Text)
		notice := m.IncidentID == id && m.Kind == bot.MessageNotice && m.Dest.Channel == bot.ChannelIncident && strings.Contains(text, "follow-up")
		// Only the notice quotes the follow-up, and only as confidential.
		if strings.Contains(text, canary) && (!notice || !m.Confidential) {
			t.Errorf("a queued message holds the follow-up: %s", text)
		}
		if m.IncidentID != id || !strings.Contains(text, "follow-up") {
			continue
		}
		switch {
		case notice:
			if !strings.Contains(text, canary) {
				t.Errorf("the follow-up notice does not quote it: %s", text)
			}
			notices++
		case m.Kind == bot.MessagePing && m.Dest.Person == assignee:
			pings++
		}
	}
	if entries != 1 || notices != 1 || pings != wantPings {
		t.Errorf("%d timeline entries, %d notices, %d pings to %q for the follow-up; want 1, 1 and %d", entries, notices, pings, assignee, wantPings)
	}
}

// TestReportPageChecksAddressesAsTheForm: the page's contact address goes
// through the checks of POST /report (package header's RFC 5321/6531
// limits, UTF-8 only when the mail server offers SMTPUTF8).
func TestReportPageChecksAddressesAsTheForm(t *testing.T) {
	s := newPageServer(t, 100, false)
	c := pageClient(t)
	_, page, _ := getPage(t, c, s.URL+"/report")
	send := func(addr string) (int, string) {
		return postMultipart(t, c, s.URL+"/report/send", map[string]string{"csrf": csrfField.FindStringSubmatch(page)[1],
			"summary": "s", "details": "d " + addr, "email": addr}, nil)
	}
	for addr, why := range map[string]string{
		strings.Repeat("a", 65) + "@example.net":    "not valid",
		`"rita r"@example.net`:                      "not valid",
		"rita@[192.0.2.1]":                          "not valid",
		"rita@" + strings.Repeat("a", 250) + ".net": "not valid",
		"rita\u2028@example.net":                    "one line",
		"rité@exämple.net":                          "SMTPUTF8",
	} {
		if code, body := send(addr); code != 400 || !strings.Contains(body, why) {
			t.Errorf("%q: %d, want 400 saying %q:\n%s", addr, code, why, body)
		}
	}
	s.mu.Lock()
	s.smtpUTF8 = true
	s.mu.Unlock()
	if code, body := send("rité@exämple.net"); code != 201 {
		t.Errorf("with SMTPUTF8: %d %s", code, body)
	}
	if inc := s.p.incident(t, 1); inc.Reporter != "rité@exämple.net" {
		t.Errorf("reporter %q", inc.Reporter)
	}
}
