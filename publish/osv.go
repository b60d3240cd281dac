package publish

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// osvSchemaVersion is the OSV schema version the records follow.
const osvSchemaVersion = "1.7.0"

type osvRecord struct {
	SchemaVersion string         `json:"schema_version"`
	ID            string         `json:"id"`
	Modified      string         `json:"modified"`
	Published     string         `json:"published"`
	Aliases       []string       `json:"aliases,omitempty"`
	Summary       string         `json:"summary"`
	Details       string         `json:"details"`
	Severity      []osvSeverity  `json:"severity,omitempty"`
	Affected      []osvAffected  `json:"affected,omitempty"`
	References    []osvReference `json:"references"`
	Credits       []osvCredit    `json:"credits,omitempty"`
	DatabaseSpec  map[string]any `json:"database_specific,omitempty"`
}

type osvSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type osvAffected struct {
	Package *osvPackage `json:"package,omitempty"`
	Ranges  []osvRange  `json:"ranges"`
}

type osvPackage struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
}

type osvRange struct {
	Type   string              `json:"type"`
	Repo   string              `json:"repo,omitempty"`
	Events []map[string]string `json:"events"`
}

type osvReference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type osvCredit struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// semverEcosystems are the OSV ecosystems whose versions are SemVer, so
// their ranges are of type SEMVER; other ecosystems get ECOSYSTEM ranges,
// ordered by the ecosystem's own rules.
var semverEcosystems = []string{"Go", "npm", "crates.io", "Hex", "Pub", "SwiftURL"}

// osvReferenceTypes maps the draft's CVE reference tags to OSV's types.
var osvReferenceTypes = map[string]string{
	"patch":                 "FIX",
	"vendor-advisory":       "ADVISORY",
	"third-party-advisory":  "ADVISORY",
	"vdb-entry":             "ADVISORY",
	"issue-tracking":        "REPORT",
	"mailing-list":          "DISCUSSION",
	"exploit":               "EVIDENCE",
	"technical-description": "ARTICLE",
	"media-coverage":        "ARTICLE",
	"product":               "PACKAGE",
	"signature":             "DETECTION",
}

// OSVRecord returns the advisory as an OSV record (indented JSON). Each
// product becomes an affected package (with an OSV ecosystem) and/or GIT
// ranges (with a repository and commits). A product with neither cannot
// be matched by OSV scanners; it is listed under database_specific
// ("unmatched_products", with its ranges as text) so nothing is lost, and
// the record still serves lookups by its CVE aliases.
func OSVRecord(a bot.Advisory, s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkPublished(a); err != nil {
		return nil, err
	}
	rec := osvRecord{
		SchemaVersion: osvSchemaVersion,
		ID:            s.OSVID(a),
		Modified:      cveTime(modified(a)),
		Published:     cveTime(a.Published),
		Aliases:       a.CVEs,
		Summary:       a.Title,
		Details:       a.Summary + "\n\n" + a.Description,
	}
	if w := strings.TrimSpace(a.Workarounds); w != "" {
		rec.Details += "\n\nWorkarounds:\n\n" + w
	}
	if a.CVSS != "" {
		sc, err := scoreVector(a.CVSS)
		if err != nil {
			return nil, fmt.Errorf("advisory %s: %w", a.ID, err)
		}
		typ := "CVSS_V3"
		if sc.Version == "4.0" {
			typ = "CVSS_V4"
		}
		rec.Severity = []osvSeverity{{Type: typ, Score: sc.Vector}}
	}
	var unmatched []map[string]any
	for _, p := range a.Affected {
		aff, err := osvAffectedOf(p)
		if err != nil {
			return nil, fmt.Errorf("advisory %s: %w", a.ID, err)
		}
		if aff == nil {
			var ranges []string
			for _, r := range p.Ranges {
				ranges = append(ranges, r.String())
			}
			unmatched = append(unmatched, map[string]any{"product": p.Product, "ranges": ranges})
		}
		rec.Affected = append(rec.Affected, aff...)
	}
	rec.References = []osvReference{{Type: "ADVISORY", URL: s.pageURL(a)}}
	for _, r := range a.References {
		if slices.ContainsFunc(rec.References, func(x osvReference) bool { return x.URL == r.URL }) {
			continue
		}
		typ, ok := osvReferenceTypes[r.Type]
		if !ok {
			typ = "WEB"
		}
		rec.References = append(rec.References, osvReference{Type: typ, URL: r.URL})
	}
	for _, c := range a.PublishedCredits() {
		rec.Credits = append(rec.Credits, osvCredit{Name: c.Name, Type: strings.ToUpper(strings.ReplaceAll(c.Type, " ", "_"))})
	}
	db := map[string]any{}
	if a.Severity != "" && a.Severity != bot.SeverityUnknown {
		db["severity"] = strings.ToUpper(string(a.Severity))
	}
	if len(a.CWEs) > 0 {
		db["cwe_ids"] = a.CWEs
	}
	if len(unmatched) > 0 {
		db["unmatched_products"] = unmatched
	}
	if len(db) > 0 {
		rec.DatabaseSpec = db
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// osvAffectedOf makes a product's affected entries: the package with its
// version ranges, and the commit ranges in its repository.
func osvAffectedOf(p bot.Affected) ([]osvAffected, error) {
	var git []osvRange
	for _, r := range p.Ranges {
		if r.IntroducedCommit == "" && r.FixedCommit == "" {
			continue
		}
		ev := []map[string]string{{"introduced": orZero(r.IntroducedCommit)}}
		if r.FixedCommit != "" {
			ev = append(ev, map[string]string{"fixed": r.FixedCommit})
		}
		git = append(git, osvRange{Type: "GIT", Repo: p.Repo, Events: ev})
	}
	if p.Ecosystem == "" {
		if len(git) == 0 {
			return nil, nil // see OSVRecord: listed as unmatched
		}
		return []osvAffected{{Ranges: git}}, nil
	}
	semver := slices.Contains(semverEcosystems, p.Ecosystem)
	aff := osvAffected{Package: &osvPackage{Ecosystem: p.Ecosystem, Name: p.Package}}
	for _, r := range p.Ranges {
		typ := "ECOSYSTEM"
		intro, fixed := r.Introduced, r.Fixed
		if semver {
			// Go and others write v1.2.3; OSV's SEMVER ranges drop the v.
			typ, intro, fixed = "SEMVER", strings.TrimPrefix(intro, "v"), strings.TrimPrefix(fixed, "v")
			for _, v := range []string{intro, fixed} {
				if v != "" && v != "0" && !isSemver(v) {
					return nil, fmt.Errorf("%s: %q is not a SemVer version, which %s ranges need", p.Product, v, p.Ecosystem)
				}
			}
		}
		ev := []map[string]string{{"introduced": intro}}
		if fixed != "" {
			ev = append(ev, map[string]string{"fixed": fixed})
		}
		aff.Ranges = append(aff.Ranges, osvRange{Type: typ, Events: ev})
	}
	aff.Ranges = append(aff.Ranges, git...)
	return []osvAffected{aff}, nil
}
