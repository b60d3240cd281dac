package email_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sectriage/sectriage/internal/testenv/browsertest"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the browser test's screenshots to docs/")

// browser is one chromium tab for a test, phone-sized.
type browser struct {
	t    *testing.T
	ctx  context.Context
	seen *browsertest.Problems
}

func newBrowser(t *testing.T, scripts bool) *browser {
	t.Helper()
	b := &browser{t: t, seen: &browsertest.Problems{}}
	b.ctx = browsertest.Start(t, b.seen, scripts)
	return b
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func (b *browser) eval(expr string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// shot saves a screenshot of the viewport; into docs/ with
// -update-screenshots.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	data, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if img, err := png.Decode(bytes.NewReader(data)); err != nil || img.Bounds().Dx() < 300 {
		b.t.Fatalf("screenshot %s is no usable PNG: %v", name, err)
	}
	dir := b.t.TempDir()
	if *updateScreenshots {
		dir = filepath.Join("..", "..", "docs")
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// noProblems fails for anything the browser complained about.
func (b *browser) noProblems(when string) {
	b.t.Helper()
	time.Sleep(300 * time.Millisecond) // late console and issue events
	for _, p := range b.seen.Take() {
		b.t.Errorf("%s: the browser reported: %s", when, p)
	}
}

// fits: nothing is wider than the phone-sized viewport.
func (b *browser) fits(page string) {
	b.t.Helper()
	if b.eval(`document.documentElement.scrollWidth > window.innerWidth`) {
		b.t.Errorf("%s is wider than a phone's screen", page)
	}
}

func pocFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReportPageInBrowser: chromium loads the page, fills it, attaches a
// file and sends it. What the server receives holds none of it in
// plaintext; the incident shows it decrypted, attachment included; the
// status link shows the state and takes a follow-up, encrypted the same
// way. No console error or CSP complaint on the way.
func TestReportPageInBrowser(t *testing.T) {
	s := newPageServer(t, 100, false)
	b := newBrowser(t, true)
	// The planted text: none of it may reach the server readable.
	const (
		summary = "Heap overflow in the Via header parser"
		details = "A Via header of 70000 bytes overflows parse_via() and crashes the worker: see poc-via.py."
		poc     = "print('Via: ' + 'A' * 70000)  # canary-js-attach\n"
		contact = "rita.canary@example.net"
	)
	b.do("load the form", chromedp.Navigate(s.URL+"/report"), chromedp.WaitVisible(chromedp.CSS("#js-mode")))
	b.fits("the report page")
	// Files that cannot fit once encrypted are refused before anything is sent.
	posts := s.posts()
	b.do("too large",
		chromedp.SendKeys(chromedp.CSS("#summary"), "x"),
		chromedp.SendKeys(chromedp.CSS("#details"), "x"),
		chromedp.SetUploadFiles(chromedp.CSS("#attachments"), []string{pocFile(t, "big.bin", strings.Repeat("x", 7<<19))}),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
	)
	if got := b.text("#progress"); !strings.Contains(got, "too large") {
		t.Errorf("oversized files: %q", got)
	}
	if s.posts() != posts {
		t.Error("oversized files were sent")
	}
	b.eval(`document.getElementById('summary').value = document.getElementById('details').value = ''; true`)
	b.do("fill the form",
		chromedp.SendKeys(chromedp.CSS("#summary"), summary),
		chromedp.SendKeys(chromedp.CSS("#details"), details),
		chromedp.SendKeys(chromedp.CSS("#version"), "5.8.1"),
		chromedp.SendKeys(chromedp.CSS("#email"), contact),
		chromedp.SendKeys(chromedp.CSS("#credit"), "Rita R."),
		chromedp.SetUploadFiles(chromedp.CSS("#attachments"), []string{pocFile(t, "poc-via.py", poc)}),
	)
	b.eval(`window.scrollTo(0, 0) === undefined`)
	b.shot("report-form.png")
	b.do("send", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#status-link")))
	if got := b.text("p[role=status]"); !strings.Contains(got, "tracked as SEC-1") {
		t.Fatalf("answer: %q", got)
	}
	b.noProblems("reporting")

	sent := s.received()
	if !bytes.Contains(sent, []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Fatalf("the browser sent no OpenPGP message:\n%.2000s", sent)
	}
	for _, canary := range []string{"Heap overflow", "parse_via", "canary-js-attach", "rita.canary", "poc-via.py", "Rita R.", "5.8.1"} {
		if bytes.Contains(sent, []byte(canary)) {
			t.Errorf("the server received %q in plaintext", canary)
		}
	}
	inc := s.p.incident(t, 1)
	if !inc.Encrypted || inc.Title != summary || inc.Reporter != contact {
		t.Errorf("incident: encrypted %v, title %q, reporter %q", inc.Encrypted, inc.Title, inc.Reporter)
	}
	report := s.p.body(t, 1)
	for _, want := range []string{"Encrypted text", details, "Affected version: 5.8.1", "Credit: Rita R.",
		`Encrypted attachment "poc-via.py"`, "canary-js-attach"} {
		if !strings.Contains(report, want) {
			t.Errorf("the incident's report lacks %q:\n%s", want, report)
		}
	}

	// The status link: state and dates, then a follow-up.
	b.do("status", chromedp.Click(chromedp.CSS("#status-link")), chromedp.WaitVisible(chromedp.CSS("#js-mode")))
	if got := b.text("#stage"); got != "State: received" {
		t.Errorf("status: %q", got)
	}
	b.fits("the status page")
	b.shot("status-page.png")
	before := len(s.received())
	b.do("follow-up",
		chromedp.SendKeys(chromedp.CSS("#details"), "It crashes with a long To as well. CANARY-JS-FOLLOWUP"),
		chromedp.SetUploadFiles(chromedp.CSS("#attachments"), []string{pocFile(t, "trace (2);x'é.txt", "CANARY-JS-FOLLOWUP-ATTACH\n")}),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("p.note[role=status]")),
	)
	if got := b.text("p.note[role=status]"); !strings.Contains(got, "added to SEC-1") {
		t.Errorf("after the follow-up: %q", got)
	}
	b.noProblems("status page")
	if sent := s.received()[before:]; bytes.Contains(sent, []byte("CANARY-JS")) || !bytes.Contains(sent, []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Errorf("the follow-up was not encrypted in the browser:\n%.1000s", sent)
	}
	checkStatusFollowUp(t, s.p, 1, "CANARY-JS-FOLLOWUP-ATTACH")
	if report := s.p.body(t, 1); !strings.Contains(report, "CANARY-JS-FOLLOWUP") ||
		!strings.Contains(report, `Encrypted attachment "trace (2);x'é.txt"`) {
		t.Errorf("show lacks the follow-up:\n%s", report)
	}

	// The listener is not blind: an inline script under the page's own CSP
	// is stopped and reported.
	_, _, h := getPage(t, http.DefaultClient, s.URL+"/report")
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", h.Get("Content-Security-Policy"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><title>x</title><link rel="icon" href="data:,"><p>x</p><script>document.title="ran"</script>`)
	}))
	defer bad.Close()
	b.do("violation", chromedp.Navigate(bad.URL), chromedp.WaitVisible(chromedp.CSS("p")))
	time.Sleep(300 * time.Millisecond)
	if len(b.seen.Take()) == 0 {
		t.Error("an inline script under the page's CSP raised no complaint: the test cannot see violations")
	}
	if b.eval(`document.title === "ran"`) {
		t.Error("the page's CSP let an inline script run")
	}
}

// TestReportPageInBrowserWithoutJavaScript: the same with scripts off.
// The form posts its fields and the file as they are (over HTTPS in
// production) and the server encrypts them on arrival.
func TestReportPageInBrowserWithoutJavaScript(t *testing.T) {
	s := newPageServer(t, 100, false)
	b := newBrowser(t, false)
	b.do("load the form", chromedp.Navigate(s.URL+"/report"), chromedp.WaitVisible(chromedp.CSS("#summary")))
	if b.eval(`!document.getElementById('js-mode').hidden`) {
		t.Error("the page claims browser encryption with scripts off")
	}
	b.do("fill the form",
		chromedp.SendKeys(chromedp.CSS("#summary"), "Overflow without JS"),
		chromedp.SendKeys(chromedp.CSS("#details"), "CANARY-NOJS-BROWSER"),
		chromedp.SetUploadFiles(chromedp.CSS("#attachments"), []string{pocFile(t, "poc.py", "CANARY-NOJS-BROWSER-ATTACH\n")}),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#status-link")),
	)
	if got := b.text("p[role=status]"); !strings.Contains(got, "tracked as SEC-1") {
		t.Fatalf("answer: %q", got)
	}
	if !bytes.Contains(s.received(), []byte("CANARY-NOJS-BROWSER")) {
		t.Error("with scripts off the form should have sent its fields as they are")
	}
	if inc := s.p.incident(t, 1); inc.Encrypted || inc.Title != "Overflow without JS" {
		t.Errorf("incident %+v", inc)
	}
	if report := s.p.body(t, 1); !strings.Contains(report, "CANARY-NOJS-BROWSER") || !strings.Contains(report, `"poc.py"`) {
		t.Errorf("report:\n%s", report)
	}
	b.do("status", chromedp.Click(chromedp.CSS("#status-link")), chromedp.WaitVisible(chromedp.CSS("#stage")))
	if got := b.text("#stage"); got != "State: received" {
		t.Errorf("status: %q", got)
	}
	b.noProblems("without JavaScript")
}
