package publish

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

//go:embed templates
var templateFS embed.FS

var pageTemplates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Policy is what the security policy page says ([policy]); Deadlines are
// the ones the bot enforces, so the page promises what the team is held to.
type Policy struct {
	Scope          string // paragraphs: what the policy covers
	Mail           string // where to send reports
	FormURL        string // the web report form, if any
	KeyFingerprint string // the team key's fingerprint (40 or 64 hex digits)
	KeyURL         string // where to download the key, if anywhere
	Disclosure     string // paragraphs: embargo and disclosure policy
	Deadlines      bot.DeadlinePolicy
}

var fingerprintRE = regexp.MustCompile(`^([0-9A-F]{40}|[0-9A-F]{64})$`)

// Validate checks that the page can tell a reporter how to report.
func (p Policy) Validate() error {
	if p.Mail == "" && p.FormURL == "" {
		return fmt.Errorf("policy: give a mail address or a form URL for reports")
	}
	if p.Mail != "" {
		if a, err := mail.ParseAddress(p.Mail); err != nil || a.Address != p.Mail {
			return fmt.Errorf("policy: mail %q is not a plain mail address", p.Mail)
		}
	}
	for name, u := range map[string]string{"form_url": p.FormURL, "key_url": p.KeyURL} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return fmt.Errorf("policy: %s %q must be an absolute http(s) URL", name, u)
		}
	}
	if fp := normalFingerprint(p.KeyFingerprint); fp != "" && !fingerprintRE.MatchString(fp) {
		return fmt.Errorf("policy: key fingerprint %q must be 40 or 64 hex digits", p.KeyFingerprint)
	}
	if strings.TrimSpace(p.Scope) == "" || strings.TrimSpace(p.Disclosure) == "" {
		return fmt.Errorf("policy: scope and disclosure texts are required")
	}
	return nil
}

func normalFingerprint(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "")) }

// groupFingerprint writes a fingerprint in groups of four, as gpg does.
func groupFingerprint(s string) string {
	fp := normalFingerprint(s)
	var groups []string
	for len(fp) > 4 {
		groups, fp = append(groups, fp[:4]), fp[4:]
	}
	return strings.Join(append(groups, fp), " ")
}

// page is what every template gets.
type page struct {
	Title, Project string
	Root           string // relative path to the site root: "../"
	Advisories     []advisoryView
	Advisory       *advisoryView
	Policy         *policyView
}

type advisoryView struct {
	ID, Title, Summary, Page string
	Date, DateTime, Updated  string
	Severity, CVSS           string
	CVEs, CWEs, Fixed        []string
	Description, Workarounds []string // paragraphs
	Affected                 []affectedRow
	References               []bot.Reference
	Credits                  []bot.Credit
	OSVFile                  string
	CVEFiles                 []struct{ ID, File string }
	published, modified      time.Time
	url                      string // absolute, for the feed
}

type affectedRow struct{ Product, Branch, Introduced, Fixed string }

type policyView struct {
	Scope, Disclosure     []string
	Mail, FormURL, KeyURL string
	Fingerprint           string
	Acknowledge, Triage   string
	EmbargoMax            string
	Fix                   []struct{ Severity, Within string }
	Acknowledgments       []struct{ Name, ID, Title, Page string }
}

func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func viewOf(a bot.Advisory, s Settings) advisoryView {
	v := advisoryView{
		ID: a.ID, Title: a.Title, Summary: a.Summary, Page: pageName(a),
		Date: a.Published.UTC().Format("2 January 2006"), DateTime: cveTime(a.Published),
		CVEs: a.CVEs, CWEs: a.CWEs, Fixed: a.FixedVersions(),
		Description: paragraphs(a.Description), Workarounds: paragraphs(a.Workarounds),
		References: a.References, Credits: a.PublishedCredits(), OSVFile: osvName(a, s),
		published: a.Published, modified: modified(a), url: s.pageURL(a),
	}
	if a.Severity != "" && a.Severity != bot.SeverityUnknown {
		v.Severity = string(a.Severity)
	}
	if a.CVSS != "" {
		if sc, err := scoreVector(a.CVSS); err == nil {
			v.CVSS = fmt.Sprintf("CVSS %s base score %.1f (%s)", sc.Version, sc.Score, sc.Vector)
		}
	}
	if m := modified(a); m.After(a.Published) {
		v.Updated = m.UTC().Format("2 January 2006")
	}
	for _, p := range a.Affected {
		for _, r := range p.Ranges {
			intro := r.Introduced
			if intro == "0" {
				intro = "all earlier versions"
			}
			fixed := r.Fixed
			if fixed == "" {
				fixed = "not yet fixed"
			}
			v.Affected = append(v.Affected, affectedRow{p.Product, r.Branch, intro, fixed})
		}
	}
	for _, id := range a.CVEs {
		v.CVEFiles = append(v.CVEFiles, struct{ ID, File string }{id, cveName(id)})
	}
	return v
}

func policyViewOf(p Policy, advisories []bot.Advisory) *policyView {
	d := p.Deadlines
	v := &policyView{
		Scope: paragraphs(p.Scope), Disclosure: paragraphs(p.Disclosure),
		Mail: p.Mail, FormURL: p.FormURL, KeyURL: p.KeyURL,
		Acknowledge: humanDuration(d.Acknowledge), Triage: humanDuration(d.Triage),
	}
	if p.KeyFingerprint != "" {
		v.Fingerprint = groupFingerprint(p.KeyFingerprint)
	}
	if d.EmbargoMax > 0 {
		v.EmbargoMax = humanDuration(d.EmbargoMax)
	}
	for _, sev := range slices.Backward(bot.Severities) {
		if within, ok := d.Fix[sev]; ok && sev != bot.SeverityUnknown {
			v.Fix = append(v.Fix, struct{ Severity, Within string }{string(sev), humanDuration(within)})
		}
	}
	for _, a := range advisories {
		for _, c := range a.PublishedCredits() {
			v.Acknowledgments = append(v.Acknowledgments, struct{ Name, ID, Title, Page string }{c.Name, a.ID, a.Title, pageName(a)})
		}
	}
	return v
}

// humanDuration says a deadline in the unit people use for it.
func humanDuration(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d <= 0:
		return "no set time"
	case d%(24*time.Hour) == 0 && d >= 72*time.Hour:
		return unit(int64(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	default:
		return unit(int64((d+time.Minute-1)/time.Minute), "minute")
	}
}

func render(name string, p page) ([]byte, error) {
	var b bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&b, name, p); err != nil {
		return nil, fmt.Errorf("publish: rendering %s: %w", name, err)
	}
	return b.Bytes(), nil
}
