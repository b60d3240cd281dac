// Package publish turns a published advisory into everything publication
// produces: a CVE JSON 5 record per CVE id, an OSV record, a clearsigned
// announcement mail, and the web pages (an index of advisories, a page per
// advisory, an Atom feed, the JSON records and the security policy page),
// served by an http.Handler or written to a directory for a static site.
//
// Every output is made from the advisory draft and the settings alone,
// never from the report: what the team did not write in the draft cannot
// be published.
package publish

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// PlaceholderOrgID stands in for the CNA's organisation UUID when the
// project is not a CNA itself. It is a valid version-4 UUID, so records
// validate; CVE Services sets the provider metadata of what it receives,
// and a CNA publishing the record itself must configure its own id.
const PlaceholderOrgID = "00000000-0000-4000-8000-000000000000"

// Settings are the project's publication settings ([publication]).
type Settings struct {
	Vendor  string // CVE "vendor": the organisation or project that ships the products
	Project string // name on the pages and in the mail, e.g. "Example Project"
	// BaseURL is where the pages are served, without a trailing slash:
	// pages live under BaseURL/advisories/ and BaseURL/security/.
	BaseURL string
	// OSVPrefix starts every OSV id, e.g. "EXAMPLE-" (a prefix registered
	// with OSV) or "x_EXAMPLE-" (unregistered; the schema accepts x_).
	OSVPrefix string
	// CNAOrgID and CNAShortName fill the CVE record's provider metadata;
	// an empty CNAOrgID uses PlaceholderOrgID.
	CNAOrgID     string
	CNAShortName string
}

var (
	uuid4RE     = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-4[0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$`)
	osvPrefixRE = regexp.MustCompile(`^(x_)?[A-Za-z][A-Za-z0-9.]*-$`)
	idRE        = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$`)
)

// Validate checks the settings; it is also called by every producer.
func (s Settings) Validate() error {
	if strings.TrimSpace(s.Vendor) == "" || strings.TrimSpace(s.Project) == "" {
		return fmt.Errorf("publication: vendor and project names are required")
	}
	u, err := url.Parse(s.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.HasSuffix(s.BaseURL, "/") ||
		u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("publication: base_url %q must be an absolute http(s) URL without a trailing slash", s.BaseURL)
	}
	if !osvPrefixRE.MatchString(s.OSVPrefix) {
		return fmt.Errorf("publication: osv_prefix %q must be letters and digits ending in '-', e.g. EXAMPLE- or x_EXAMPLE-", s.OSVPrefix)
	}
	if s.CNAOrgID != "" && !uuid4RE.MatchString(s.CNAOrgID) {
		return fmt.Errorf("publication: cna_org_id %q is not a version-4 UUID", s.CNAOrgID)
	}
	if n := len(s.CNAShortName); s.CNAShortName != "" && (n < 2 || n > 32) {
		return fmt.Errorf("publication: cna_short_name must have 2 to 32 characters")
	}
	return nil
}

func (s Settings) orgID() string {
	if s.CNAOrgID == "" {
		return PlaceholderOrgID
	}
	return s.CNAOrgID
}

// The public addresses of one advisory's outputs, relative to the
// advisories directory (pages link relatively, so a static copy works
// under any path) or absolute (records, feed and mail).
func pageName(a bot.Advisory) string            { return a.ID + ".html" }
func osvName(a bot.Advisory, s Settings) string { return s.OSVID(a) + ".json" }
func cveName(cve string) string                 { return cve + ".json" }

func (s Settings) advisoriesURL() string         { return s.BaseURL + "/advisories/" }
func (s Settings) pageURL(a bot.Advisory) string { return s.advisoriesURL() + pageName(a) }

// OSVID is the advisory's OSV id: the prefix and the public id.
func (s Settings) OSVID(a bot.Advisory) string { return s.OSVPrefix + a.ID }

// checkPublished refuses an advisory that cannot be published: an invalid
// draft, or one without the public id, dates and text every output needs.
// Approvals are the caller's business (bot.Advisory.Missing): a preview of
// an unapproved draft is produced the same way.
func checkPublished(a bot.Advisory) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if !idRE.MatchString(a.ID) {
		return fmt.Errorf("advisory of incident %d: public id %q must be letters, digits, '.', '_' or '-'", a.Incident, a.ID)
	}
	if a.Published.IsZero() {
		return fmt.Errorf("advisory %s: no publication time", a.ID)
	}
	for _, f := range []struct{ name, v string }{{"title", a.Title}, {"summary", a.Summary}, {"description", a.Description}} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("advisory %s: the %s is empty", a.ID, f.name)
		}
	}
	if len(a.Affected) == 0 {
		return fmt.Errorf("advisory %s: no affected product", a.ID)
	}
	return nil
}

// modified is when the advisory last changed: Modified, or Published.
func modified(a bot.Advisory) time.Time {
	if a.Modified.After(a.Published) {
		return a.Modified
	}
	return a.Published
}
