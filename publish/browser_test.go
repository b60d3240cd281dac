package publish_test

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
	"github.com/sectriage/sectriage/publish"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the browser test's screenshots to docs/")

// TestPagesInBrowser loads the pages in Debian's chromium: no console
// error and no CSP violation, the advisory is found from the index by
// clicking its link, the stylesheet applies, nothing overflows a phone's
// width. A page that breaks the CSP on purpose must be caught, so the
// listener can fail.
func TestPagesInBrowser(t *testing.T) {
	site := testSite(t)
	mux := http.NewServeMux()
	mux.Handle("/", site.Handler())
	// The deliberate violation: inline script and style under the same CSP.
	mux.HandleFunc("/violation.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", publish.ContentSecurityPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>x</title><style>p{color:red}</style></head>`+
			`<body><p>x</p><script>document.title="ran"</script></body></html>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	seen := browsertest.Problems{HTTPErrors: true}
	ctx := browsertest.Start(t, &seen, true)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		v, err := chromedp.Run(sctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	shot := func(name string) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		b, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() < 300 {
			t.Fatalf("screenshot %s is no usable PNG: %v", name, err)
		}
		dir := t.TempDir()
		if *updateScreenshots {
			dir = filepath.Join("..", "docs")
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	settle := func() { time.Sleep(300 * time.Millisecond) } // let late console and issue events arrive

	// The index: styled, no complaints, fits a phone.
	step("index", chromedp.Navigate(srv.URL+"/advisories/"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := run("index h1", chromedp.Text(chromedp.CSS("h1"))); got != "Example security advisories" {
		t.Errorf("index h1 = %q", got)
	}
	checkLayout(t, ctx)
	shot("advisory-index.png")

	// Find the advisory from the index by clicking its link.
	step("click", chromedp.Click(chromedp.CSS(`a[href="2026-2.html"]`)), chromedp.WaitVisible(chromedp.CSS("article h1")))
	if loc := run("location", chromedp.Location()); loc != srv.URL+"/advisories/2026-2.html" {
		t.Errorf("after the click the browser is at %s", loc)
	}
	if got := run("advisory h1", chromedp.Text(chromedp.CSS("article h1"))); got != "Heap overflow and path traversal in archive extraction" {
		t.Errorf("advisory h1 = %q", got)
	}
	checkLayout(t, ctx)
	shot("advisory-page.png")

	step("policy", chromedp.Navigate(srv.URL+"/security/"), chromedp.WaitVisible(chromedp.CSS("h1")))
	checkLayout(t, ctx)
	shot("security-policy.png")
	settle()
	for _, p := range seen.Take() {
		t.Errorf("browser reported: %s", p)
	}

	step("violation", chromedp.Navigate(srv.URL+"/violation.html"), chromedp.WaitVisible(chromedp.CSS("p")))
	settle()
	got := seen.Take()
	if len(got) == 0 {
		t.Error("a page with inline script and style under the CSP raised no complaint: the listener is blind")
	}
	if title := run("title", chromedp.Title()); title == "ran" {
		t.Error("the CSP did not stop an inline script")
	}
	t.Logf("the deliberate violation was reported as: %s", strings.Join(got, "; "))
}

// checkLayout: the stylesheet applied and nothing is wider than the
// phone-sized viewport.
func checkLayout(t *testing.T, ctx context.Context) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	maxWidth, err := chromedp.Run(sctx, chromedp.Evaluate[string](`getComputedStyle(document.body).maxWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if maxWidth != "736px" { // 46rem: style.css loaded under the CSP
		t.Errorf("body max-width %q: the stylesheet did not apply", maxWidth)
	}
	overflow, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Error("the page is wider than a phone's screen")
	}
}
