package bot

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Advisory is the public text of an incident, drafted by the team. It is
// the only thing publication reads: nothing from the report reaches a
// published page or record unless a team member typed it into the draft.
type Advisory struct {
	Incident int64 // the incident it describes

	Title       string // one line
	Summary     string // one or two sentences
	Description string // paragraphs, plain text
	Workarounds string // plain text; empty when there are none

	Affected   []Affected
	CWEs       []string // "CWE-79"
	Severity   Severity
	CVSS       string  // vector (CVSS:3.1 or 4.0), empty when set by level
	Score      float64 // the vector's base score
	References []Reference
	Credits    []Credit
	CVEs       []string

	// Editors are everyone who changed the draft; none of them may approve
	// its text. PatchAuthor wrote the fix and may not approve the patch.
	Editors     []string
	PatchAuthor string
	Approvals   []Approval

	// Set at publication: the public id (the page's name and the OSV id's
	// suffix, e.g. "2026-3"), when it was first published and last changed.
	ID        string
	Published time.Time
	Modified  time.Time
}

// Affected is one product (or package) and the version ranges in which the
// vulnerability exists.
type Affected struct {
	Product string // as users know it, e.g. "libexample"
	// Ecosystem and Package name the package in an OSV ecosystem ("Go",
	// "npm", "PyPI", …); both empty for a product shipped as tarballs.
	Ecosystem string
	Package   string
	Repo      string // source repository URL, for commit ranges
	Ranges    []VersionRange
}

// Ecosystems are the package ecosystems OSV knows (OSV schema 1.7).
var Ecosystems = []string{
	"AlmaLinux", "Alpaquita", "Alpine", "Android", "Azure Linux", "BellSoft Hardened Containers", "Bioconductor",
	"Bitnami", "Chainguard", "CleanStart", "ConanCenter", "CRAN", "crates.io", "Debian", "Docker Hardened Images",
	"Echo", "FreeBSD", "GHC", "GitHub Actions", "Go", "Hackage", "Hex", "Julia", "Kubernetes", "Linux", "Mageia",
	"Maven", "MinimOS", "npm", "NuGet", "opam", "openEuler", "openSUSE", "OSS-Fuzz", "Packagist", "Photon OS", "Pub",
	"PyPI", "Red Hat", "Rocky Linux", "Root", "RubyGems", "SUSE", "SwiftURL", "TuxCare", "Ubuntu", "VSCode", "Wolfi",
}

// SetPackage says where a listed product is published: its OSV ecosystem
// and package name (both or neither) and its source repository.
func (a *Advisory) SetPackage(product, ecosystem, pkg, repo string) error {
	for i := range a.Affected {
		if a.Affected[i].Product != product {
			continue
		}
		p := a.Affected[i]
		p.Ecosystem, p.Package, p.Repo = strings.TrimSpace(ecosystem), strings.TrimSpace(pkg), strings.TrimSpace(repo)
		if err := p.Validate(); err != nil {
			return err
		}
		a.Affected[i] = p
		return nil
	}
	return Errorf(KindNotFound, "%q is not an affected product yet; add its version ranges first.", product)
}

// VersionRange is one affected stretch of versions, usually one per
// maintained branch: introduced <= v < fixed.
type VersionRange struct {
	Branch     string // "1.4"; empty for a single line of releases
	Introduced string // first affected version; "0" means every earlier version
	Fixed      string // first fixed version; empty while the branch has no fix
	// The same range as commits in Repo (full hashes), when known.
	IntroducedCommit string
	FixedCommit      string
}

// Reference is a typed link, typed like the CVE record's reference tags.
type Reference struct {
	Type string // one of ReferenceTypes
	URL  string
}

// ReferenceTypes are the CVE Record Format's reference tags.
var ReferenceTypes = []string{
	"patch", "vendor-advisory", "release-notes", "issue-tracking", "mailing-list",
	"mitigation", "exploit", "technical-description", "third-party-advisory",
	"vdb-entry", "product", "related", "signature", "media-coverage",
	"government-resource", "broken-link", "customer-entitlement",
	"permissions-required", "not-applicable",
}

// Credit acknowledges someone, under the name they chose. Only credits
// with Consent are published: the reporter decides.
type Credit struct {
	Name    string
	Type    string // one of CreditTypes
	Consent bool
}

// CreditTypes are the CVE Record Format's credit types.
var CreditTypes = []string{
	"finder", "reporter", "analyst", "coordinator", "remediation developer",
	"remediation reviewer", "remediation verifier", "tool", "sponsor", "other",
}

// Length limits: the CVE record's own limits (title 256, description 4096
// characters; its description is the summary, a blank line and the
// description), with room to spare, so a draft that passes here always
// fits the records made from it.
const (
	maxTitle       = 200
	maxSummary     = 300
	maxDescription = 3700
	maxName        = 200
	maxURL         = 2000
)

// NewAdvisory starts the draft of inc. It takes only what the team set on
// the incident (severity, CVEs), never the report's subject or body: the
// subject is the reporter's words and may itself be confidential.
func NewAdvisory(inc *Incident) Advisory {
	return Advisory{
		Incident: inc.ID,
		Severity: inc.Severity,
		CVSS:     inc.CVSS,
		Score:    inc.Score,
		CVEs:     slices.Clone(inc.CVEs),
		// The assignee writes the fix; the patch needs other eyes.
		PatchAuthor: inc.Assignee,
	}
}

// Clone returns a deep copy, so an edit never aliases the original.
func (a Advisory) Clone() Advisory {
	b := a
	b.Affected = make([]Affected, len(a.Affected))
	for i, p := range a.Affected {
		p.Ranges = slices.Clone(p.Ranges)
		b.Affected[i] = p
	}
	if a.Affected == nil {
		b.Affected = nil
	}
	b.CWEs = slices.Clone(a.CWEs)
	b.References = slices.Clone(a.References)
	b.Credits = slices.Clone(a.Credits)
	b.CVEs = slices.Clone(a.CVEs)
	b.Editors = slices.Clone(a.Editors)
	b.Approvals = slices.Clone(a.Approvals)
	return b
}

// FixedVersions lists every range's fixed version, in order, without
// repeats. They are derived from the ranges so the two cannot disagree.
func (a Advisory) FixedVersions() []string {
	var out []string
	for _, p := range a.Affected {
		for _, r := range p.Ranges {
			if r.Fixed != "" && !slices.Contains(out, r.Fixed) {
				out = append(out, r.Fixed)
			}
		}
	}
	return out
}

// PublishedCredits are the credits whose holders agreed to be named.
func (a Advisory) PublishedCredits() []Credit {
	var out []Credit
	for _, c := range a.Credits {
		if c.Consent {
			out = append(out, c)
		}
	}
	return out
}

// AdvisoryFields are the text fields `set` accepts, in display order.
var AdvisoryFields = []string{"title", "summary", "description", "workarounds", "cwe", "cve"}

// Set changes one field from its text form. cwe and cve take a list
// separated by commas or spaces and replace the whole list; an empty value
// clears the field.
func (a *Advisory) Set(field, value string) error {
	value = strings.TrimSpace(value)
	switch lower(field) {
	case "title":
		if err := checkText("title", value, maxTitle, false); err != nil {
			return err
		}
		a.Title = value
	case "summary":
		if err := checkText("summary", value, maxSummary, false); err != nil {
			return err
		}
		a.Summary = value
	case "description":
		if err := checkText("description", value, maxDescription, true); err != nil {
			return err
		}
		a.Description = value
	case "workarounds":
		if err := checkText("workarounds", value, maxDescription, true); err != nil {
			return err
		}
		a.Workarounds = value
	case "cwe", "cwes":
		ids, err := parseList(value, ParseCWE)
		if err != nil {
			return err
		}
		a.CWEs = ids
	case "cve", "cves":
		ids, err := parseList(value, ParseCVE)
		if err != nil {
			return err
		}
		a.CVEs = ids
	default:
		return Errorf(KindInvalid, "%q is not an advisory field; the fields are %s (and affected, ref, credit with their own commands).",
			field, strings.Join(AdvisoryFields, ", "))
	}
	return nil
}

// AddAffected adds version ranges for a product; a range for a branch the
// product already lists replaces it.
func (a *Advisory) AddAffected(product string, r VersionRange) error {
	product = strings.TrimSpace(product)
	if err := checkText("product", product, maxName, false); err != nil {
		return err
	}
	if product == "" {
		return Errorf(KindInvalid, "Name the affected product.")
	}
	if err := r.Validate(); err != nil {
		return err
	}
	for i := range a.Affected {
		p := &a.Affected[i]
		if p.Product != product {
			continue
		}
		for j := range p.Ranges {
			if p.Ranges[j].Branch == r.Branch {
				p.Ranges[j] = r
				return nil
			}
		}
		p.Ranges = append(p.Ranges, r)
		return nil
	}
	a.Affected = append(a.Affected, Affected{Product: product, Ranges: []VersionRange{r}})
	return nil
}

// AddReference adds a typed link; the same URL again changes its type.
func (a *Advisory) AddReference(typ, rawURL string) error {
	ref := Reference{Type: lower(strings.TrimSpace(typ)), URL: strings.TrimSpace(rawURL)}
	if err := ref.Validate(); err != nil {
		return err
	}
	for i := range a.References {
		if a.References[i].URL == ref.URL {
			a.References[i].Type = ref.Type
			return nil
		}
	}
	a.References = append(a.References, ref)
	return nil
}

// AddCredit adds or updates the credit for name.
func (a *Advisory) AddCredit(c Credit) error {
	c.Name, c.Type = strings.TrimSpace(c.Name), lower(strings.TrimSpace(c.Type))
	if c.Type == "" {
		c.Type = "finder"
	}
	if err := c.Validate(); err != nil {
		return err
	}
	for i := range a.Credits {
		if a.Credits[i].Name == c.Name {
			a.Credits[i] = c
			return nil
		}
	}
	a.Credits = append(a.Credits, c)
	return nil
}

// Validate checks every field, so a draft loaded from storage or built in
// code is held to the same rules as one edited by commands.
func (a Advisory) Validate() error {
	checks := []error{
		checkText("title", a.Title, maxTitle, false),
		checkText("summary", a.Summary, maxSummary, false),
		checkText("description", a.Description, maxDescription, true),
		checkText("workarounds", a.Workarounds, maxDescription, true),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if _, ok := ParseSeverity(string(a.Severity)); !ok && a.Severity != "" {
		return Errorf(KindInvalid, "severity %q is not one of %v.", a.Severity, Severities)
	}
	if err := checkCVSS(a.CVSS, a.Score); err != nil {
		return err
	}
	// Stored ids must already be in their normal form, which the records
	// copy as they are.
	for _, id := range a.CWEs {
		if n, err := ParseCWE(id); err != nil || n != id {
			return Errorf(KindInvalid, "%q is not a CWE id in the form CWE-79.", id)
		}
	}
	for _, id := range a.CVEs {
		if n, err := ParseCVE(id); err != nil || n != id {
			return Errorf(KindInvalid, "%q is not a CVE id in the form CVE-2026-12345.", id)
		}
	}
	if d := firstDuplicate(a.CVEs); d != "" {
		return Errorf(KindInvalid, "%s is listed twice.", d)
	}
	products := map[string]bool{}
	for _, p := range a.Affected {
		if err := p.Validate(); err != nil {
			return err
		}
		if products[p.Product] {
			return Errorf(KindInvalid, "Product %q is listed twice; put its ranges together.", p.Product)
		}
		products[p.Product] = true
	}
	for _, r := range a.References {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	for _, c := range a.Credits {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a product and its ranges.
func (p Affected) Validate() error {
	if strings.TrimSpace(p.Product) == "" {
		return Errorf(KindInvalid, "An affected product needs a name.")
	}
	if err := checkText("product", p.Product, maxName, false); err != nil {
		return err
	}
	if (p.Ecosystem == "") != (p.Package == "") {
		return Errorf(KindInvalid, "%s: give both the package ecosystem and the package name, or neither.", p.Product)
	}
	if err := checkText("package", p.Package, maxName, false); err != nil {
		return err
	}
	if base, _, _ := strings.Cut(p.Ecosystem, ":"); p.Ecosystem != "" && !slices.Contains(Ecosystems, base) {
		return Errorf(KindInvalid, "%s: %q is not an OSV ecosystem; use one of %s (a suffix such as Debian:12 is allowed).",
			p.Product, p.Ecosystem, strings.Join(Ecosystems, ", "))
	}
	if p.Repo != "" {
		if err := checkURL(p.Repo); err != nil {
			return err
		}
	}
	if len(p.Ranges) == 0 {
		return Errorf(KindInvalid, "%s: add at least one affected version range.", p.Product)
	}
	branches := map[string]bool{}
	for _, r := range p.Ranges {
		if err := r.Validate(); err != nil {
			return Errorf(KindInvalid, "%s: %s", p.Product, UserMessage(err))
		}
		if branches[r.Branch] {
			return Errorf(KindInvalid, "%s: branch %q has two ranges.", p.Product, r.Branch)
		}
		branches[r.Branch] = true
		if (r.IntroducedCommit != "" || r.FixedCommit != "") && p.Repo == "" {
			return Errorf(KindInvalid, "%s: commit ranges need the repository URL.", p.Product)
		}
	}
	return nil
}

var commitRE = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// Validate checks that a range is a range: versions are single tokens and
// introduced comes before fixed where both can be compared.
func (r VersionRange) Validate() error {
	for name, v := range map[string]string{"branch": r.Branch, "introduced": r.Introduced, "fixed": r.Fixed} {
		if strings.ContainsFunc(v, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) || len(v) > 100 {
			return Errorf(KindInvalid, "The %s version %q must be one word of at most 100 characters.", name, v)
		}
	}
	if r.Introduced == "" {
		return Errorf(KindInvalid, "A range needs the version that introduced the flaw (0 for every earlier version).")
	}
	if r.Fixed == "0" {
		return Errorf(KindInvalid, "The fixed version cannot be 0.")
	}
	if r.Fixed != "" {
		if c, ok := CompareVersions(r.Introduced, r.Fixed); ok && c >= 0 {
			return Errorf(KindInvalid, "The range %s: the fix (%s) must come after the version that introduced the flaw (%s).",
				r, r.Fixed, r.Introduced)
		}
	}
	for name, c := range map[string]string{"introduced": r.IntroducedCommit, "fixed": r.FixedCommit} {
		if c != "" && !commitRE.MatchString(c) {
			return Errorf(KindInvalid, "The %s commit %q must be a full lower-case commit hash (40 or 64 hex digits).", name, c)
		}
	}
	if r.FixedCommit != "" && r.FixedCommit == r.IntroducedCommit {
		return Errorf(KindInvalid, "The fix commit cannot be the commit that introduced the flaw.")
	}
	return nil
}

// String renders the range in the form ParseVersionRange reads.
func (r VersionRange) String() string {
	s := r.Introduced + ".." + r.Fixed
	if r.Branch != "" {
		s = r.Branch + ": " + s
	}
	return s
}

// ParseVersionRange reads "[branch:] introduced..fixed": "1.4: 1.4.0..1.4.3",
// "0..2.1.0" (every version before 2.1.0), "..2.1.0" (the same), or
// "1.5.0.." (not fixed yet).
func ParseVersionRange(s string) (VersionRange, error) {
	var r VersionRange
	body := strings.TrimSpace(s)
	if b, rest, ok := strings.Cut(body, ":"); ok {
		r.Branch, body = strings.TrimSpace(b), strings.TrimSpace(rest)
	}
	intro, fixed, ok := strings.Cut(body, "..")
	if !ok {
		return r, Errorf(KindInvalid, "%q is not a range; write introduced..fixed, e.g. 1.4: 1.4.0..1.4.3, or ..2.1.0, or 1.5.0.. while unfixed.", s)
	}
	r.Introduced, r.Fixed = strings.TrimSpace(intro), strings.TrimSpace(fixed)
	if r.Introduced == "" {
		r.Introduced = "0"
	}
	return r, r.Validate()
}

// CompareVersions compares dotted numeric versions ("v1.2.10" > "1.2.9"),
// a pre-release ("1.2.0-rc1") sorting before its release. ok is false when
// either is not of that form: such versions are taken as written.
func CompareVersions(a, b string) (c int, ok bool) {
	pa, prea, oka := splitVersion(a)
	pb, preb, okb := splitVersion(b)
	if !oka || !okb {
		return 0, false
	}
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			return cmpInt(x, y), true
		}
	}
	switch {
	case prea == preb:
		return 0, true
	case prea == "":
		return 1, true
	case preb == "":
		return -1, true
	}
	return strings.Compare(prea, preb), true
}

func splitVersion(v string) (parts []int, pre string, ok bool) {
	v = strings.TrimPrefix(v, "v")
	v, _, _ = strings.Cut(v, "+") // build metadata does not order
	v, pre, _ = strings.Cut(v, "-")
	for _, f := range strings.Split(v, ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || f == "" {
			return nil, "", false
		}
		parts = append(parts, n)
	}
	return parts, pre, true
}

func cmpInt(x, y int) int {
	if x < y {
		return -1
	}
	return 1
}

// Validate checks a reference's type and URL.
func (r Reference) Validate() error {
	if !slices.Contains(ReferenceTypes, r.Type) {
		return Errorf(KindInvalid, "%q is not a reference type; use one of %s.", r.Type, strings.Join(ReferenceTypes, ", "))
	}
	return checkURL(r.URL)
}

// Validate checks a credit.
func (c Credit) Validate() error {
	if c.Name == "" {
		return Errorf(KindInvalid, "A credit needs the name the person chose.")
	}
	if err := checkText("credit name", c.Name, maxName, false); err != nil {
		return err
	}
	if !slices.Contains(CreditTypes, c.Type) {
		return Errorf(KindInvalid, "%q is not a credit type; use one of %s.", c.Type, strings.Join(CreditTypes, ", "))
	}
	return nil
}

var cweRE = regexp.MustCompile(`^CWE-[1-9][0-9]{0,6}$`)

// ParseCWE validates a CWE id ("CWE-79"; "79" is accepted and completed).
func ParseCWE(s string) (string, error) {
	id := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(id, "CWE-") {
		id = "CWE-" + id
	}
	if !cweRE.MatchString(id) {
		return "", Errorf(KindInvalid, "%q is not a CWE id; write CWE-79 (a number without leading zeros).", s)
	}
	return id, nil
}

// checkURL accepts absolute http(s) URLs with a host and nothing that
// could hide where they lead (credentials, spaces, control characters).
func checkURL(raw string) error {
	bad := func(why string) error {
		return Errorf(KindInvalid, "%q is not a usable link: %s.", raw, why)
	}
	if len(raw) > maxURL {
		return bad(fmt.Sprintf("longer than %d characters", maxURL))
	}
	if strings.ContainsFunc(raw, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) {
		return bad("it contains spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("it does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("only http and https links are accepted")
	}
	if u.Host == "" || u.Hostname() == "" {
		return bad("it has no host")
	}
	if u.User != nil {
		return bad("it carries a user name or password")
	}
	return nil
}

var cvssPrefixes = []string{"CVSS:3.1/", "CVSS:4.0/"}

// checkCVSS checks the vector's version and the score's range; the
// vector itself was parsed where it was set (the severity command).
func checkCVSS(vector string, score float64) error {
	if vector == "" {
		return nil
	}
	if !slices.ContainsFunc(cvssPrefixes, func(p string) bool { return strings.HasPrefix(vector, p) }) {
		return Errorf(KindInvalid, "%q is not a CVSS 3.1 or 4.0 vector.", vector)
	}
	if score < 0 || score > 10 {
		return Errorf(KindInvalid, "A CVSS score lies between 0 and 10, not %.1f.", score)
	}
	return nil
}

// checkText rejects text that would break a page, a mail or a record:
// invalid UTF-8, control characters, over-long text; multiline allows
// line breaks and tabs.
func checkText(field, s string, limit int, multiline bool) error {
	if !utf8.ValidString(s) {
		return Errorf(KindInvalid, "The %s is not valid UTF-8.", field)
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return Errorf(KindInvalid, "The %s has %d characters; at most %d fit.", field, n, limit)
	}
	for _, c := range s {
		if multiline && (c == '\n' || c == '\t') {
			continue
		}
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' {
			if multiline {
				return Errorf(KindInvalid, "The %s contains a control character.", field)
			}
			return Errorf(KindInvalid, "The %s must be one line without control characters.", field)
		}
	}
	return nil
}

func parseList(s string, parse func(string) (string, error)) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(c rune) bool { return c == ',' || unicode.IsSpace(c) }) {
		id, err := parse(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func firstDuplicate(list []string) string {
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}
