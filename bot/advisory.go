package bot

import (
	"slices"
	"strings"
	"time"
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
