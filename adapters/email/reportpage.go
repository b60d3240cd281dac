package email

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// The report page: GET /report serves a form that encrypts the report in
// the browser (OpenPGP.js, embedded below) and still works without
// JavaScript; the form posts to /report/send (reportsend.go). The status
// pages are in statuspage.go.

// OpenPGPJSVersion is the OpenPGP.js release embedded in assets/ (see
// assets/README.md; assets/fetch-openpgp.sh checks it against npm).
const OpenPGPJSVersion = "6.3.2"

// Paths of the report side.
const (
	ReportPath     = "/report"
	ReportSendPath = "/report/send"
	ReportAssets   = "/report/assets/"
	StatusPath     = "/status/"
)

//go:embed assets/openpgp.min.js assets/openpgp.LICENSE assets/report.js assets/report.css assets/icon.svg
var assetFiles embed.FS

//go:embed pages/*.html
var pageFiles embed.FS

// asset is an embedded file with what serving it takes.
type asset struct {
	body        []byte
	contentType string
	integrity   string // sha384-..., for the integrity attribute and the CSP
	// url names the content (?v= its hash), so a browser's cached copy of
	// an older version is never offered against a newer integrity.
	url string
}

// PageOptions configure the report and status pages.
type PageOptions struct {
	// TeamKey is the armored public key the browser encrypts to, and
	// Fingerprint its fingerprint, shown on the page.
	TeamKey     []byte
	Fingerprint string
	// KeyURL is where the key is served (shown as a link).
	KeyURL string
	// Secure marks the CSRF cookie Secure: the site is reached over HTTPS
	// (directly or through a proxy).
	Secure bool
}

// ReportPage serves the report form, its answer and the status pages. It
// shares the form handler's pipeline, limits and rate limiter: a report
// sent through the page counts against the same limit as one sent to the
// API.
type ReportPage struct {
	form   *FormHandler
	status StatusDesk
	opts   PageOptions
	assets map[string]asset
	tmpl   map[string]*template.Template
	csp    string
	csrf   []byte // keys the CSRF tokens
	log    *slog.Logger
}

// StatusDesk is the reporter's side of the pipeline (bot.Intake).
type StatusDesk interface {
	StatusLinks() bool
	IssueStatus(ctx context.Context, incidentID int64) (string, error)
	StatusView(ctx context.Context, token string) (*bot.ReporterView, error)
	AddFollowUp(ctx context.Context, token, source string, raw []byte) (*bot.ReporterView, error)
}

var _ StatusDesk = (*bot.Intake)(nil)

// NewReportPage makes the page handlers around the form handler.
func NewReportPage(form *FormHandler, status StatusDesk, opts PageOptions, log *slog.Logger) (*ReportPage, error) {
	p := &ReportPage{form: form, status: status, opts: opts, assets: map[string]asset{},
		tmpl: map[string]*template.Template{}, log: log.With("adapter", "report-page")}
	p.csrf = make([]byte, 32)
	_, _ = rand.Read(p.csrf)
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
		".LICENSE": "text/plain; charset=utf-8", ".svg": "image/svg+xml"}
	for _, name := range []string{"openpgp.min.js", "openpgp.LICENSE", "report.js", "report.css", "icon.svg"} {
		b, err := assetFiles.ReadFile("assets/" + name)
		if err != nil {
			return nil, err
		}
		sum := sha512.Sum384(b)
		p.assets[name] = asset{body: b, contentType: types[path.Ext(name)],
			integrity: "sha384-" + base64.StdEncoding.EncodeToString(sum[:]),
			url:       ReportAssets + name + "?v=" + hex.EncodeToString(sum[:6])}
	}
	// Scripts only from here, and only these two files; no inline script,
	// no eval, nothing fetched, forms only to here.
	p.csp = fmt.Sprintf("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "+
		"script-src 'self' '%s' '%s'; style-src 'self'; img-src 'self'; connect-src 'none'",
		p.assets["openpgp.min.js"].integrity, p.assets["report.js"].integrity)
	for _, name := range []string{"form", "answer", "status"} {
		t, err := template.ParseFS(pageFiles, "pages/layout.html", "pages/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// Register adds the page's routes to mux. POST /report stays the form
// handler's (the API and plain HTML forms elsewhere).
func (p *ReportPage) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+ReportPath, p.serveForm)
	mux.HandleFunc("POST "+ReportSendPath, p.serveSend)
	mux.HandleFunc("GET "+ReportAssets+"{name}", p.serveAsset)
	mux.HandleFunc("GET "+StatusPath+"{token}", p.serveStatus)
	mux.HandleFunc("POST "+StatusPath+"{token}", p.serveFollowUp)
}

func (p *ReportPage) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := p.assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=604800, immutable")
	_, _ = w.Write(a.body)
}

// pageData is what every page's layout needs.
type pageData struct {
	Title                                               string
	CSSURL, OpenPGPURL, ScriptURL, IconURL, LicenseURL  string
	Script                                              bool
	CSSIntegrity, OpenPGPIntegrity, ScriptIntegrity     string
	OpenPGPVersion                                      string
	CSRF, Action, TeamKey, Fingerprint, KeyURL, MaxSize string
	MaxBytes                                            int64
}

func (p *ReportPage) base(title string, script bool) pageData {
	return pageData{Title: title, Script: script,
		CSSURL: p.assets["report.css"].url, OpenPGPURL: p.assets["openpgp.min.js"].url, ScriptURL: p.assets["report.js"].url,
		IconURL: p.assets["icon.svg"].url, LicenseURL: p.assets["openpgp.LICENSE"].url,
		CSSIntegrity: p.assets["report.css"].integrity, OpenPGPIntegrity: p.assets["openpgp.min.js"].integrity,
		ScriptIntegrity: p.assets["report.js"].integrity, OpenPGPVersion: OpenPGPJSVersion,
		TeamKey: string(p.opts.TeamKey), Fingerprint: groupFingerprint(p.opts.Fingerprint), KeyURL: p.opts.KeyURL,
		MaxSize: byteSize(p.form.opts.MaxBytes), MaxBytes: p.form.opts.MaxBytes}
}

// render writes a page with the headers every page gets: the strict CSP,
// no caching (a status page is private), no referrer (a status link must
// not leak to a site linked from it).
func (p *ReportPage) render(w http.ResponseWriter, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.csp)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	var b strings.Builder
	if err := p.tmpl[name].ExecuteTemplate(&b, "layout", data); err != nil {
		p.log.Error("a page could not be rendered", "page", name, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (p *ReportPage) serveForm(w http.ResponseWriter, r *http.Request) {
	d := p.base("Report a security vulnerability", true)
	d.CSRF, d.Action = p.csrfToken(w, r), ReportSendPath
	p.render(w, http.StatusOK, "form", d)
}

// answerData is the answer page's.
type answerData struct {
	pageData
	Heading, Message, StatusURL, Back string
}

func (p *ReportPage) answer(w http.ResponseWriter, status int, heading, msg, statusURL, back string) {
	p.render(w, status, "answer", answerData{pageData: p.base(heading, false), Heading: heading, Message: msg,
		StatusURL: statusURL, Back: back})
}

// csrfCookie holds the browser's CSRF secret; the form carries an HMAC of
// it. A page elsewhere can make a browser post here but can neither read
// the cookie nor the token (double submit, signed), and SameSite=Strict
// keeps the cookie off cross-site posts anyway.
const csrfCookie = "sectriage_form"

func (p *ReportPage) csrfToken(w http.ResponseWriter, r *http.Request) string {
	secret := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 22 && len(c.Value) <= 64 {
		secret = c.Value
	} else {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		secret = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: secret, Path: "/", HttpOnly: true,
			Secure: p.opts.Secure || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	}
	return p.csrfFor(secret)
}

func (p *ReportPage) csrfFor(secret string) string {
	m := hmac.New(sha256.New, p.csrf)
	m.Write([]byte("report-form\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF accepts a post only with the cookie and the token made from
// it, and never a cross-site one.
func (p *ReportPage) checkCSRF(r *http.Request, token string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(p.csrfFor(c.Value)), []byte(token)) == 1
}

// groupFingerprint writes a fingerprint in groups of four, as gpg shows
// it, for comparing by eye.
func groupFingerprint(f string) string {
	var b strings.Builder
	for i, c := range f {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// byteSize says a size the way people read it.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
