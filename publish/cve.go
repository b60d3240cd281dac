package publish

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// The CVE JSON 5 record (CVE Record Format 5.1, state PUBLISHED). Only the
// fields sectriage fills are declared; the schema forbids unknown ones.
type cveRecord struct {
	DataType    string        `json:"dataType"`
	DataVersion string        `json:"dataVersion"`
	CVEMetadata cveMetadata   `json:"cveMetadata"`
	Containers  cveContainers `json:"containers"`
}

type cveMetadata struct {
	CVEID             string `json:"cveId"`
	AssignerOrgID     string `json:"assignerOrgId"`
	AssignerShortName string `json:"assignerShortName,omitempty"`
	State             string `json:"state"`
	DatePublished     string `json:"datePublished"`
	DateUpdated       string `json:"dateUpdated"`
}

type cveContainers struct {
	CNA CNAContainer `json:"cna"`
}

// CNAContainer is the record's CNA container, which is what a CVE Services
// client (e.g. cvelib's `cve publish --json`) submits for a CVE id.
type CNAContainer struct {
	ProviderMetadata cveProvider      `json:"providerMetadata"`
	Title            string           `json:"title"`
	DatePublic       string           `json:"datePublic"`
	Descriptions     []cveText        `json:"descriptions"`
	Affected         []cveProduct     `json:"affected"`
	ProblemTypes     []cveProblemType `json:"problemTypes,omitempty"`
	Metrics          []cveMetric      `json:"metrics,omitempty"`
	Workarounds      []cveText        `json:"workarounds,omitempty"`
	Credits          []cveCredit      `json:"credits,omitempty"`
	References       []cveReference   `json:"references"`
}

type cveProvider struct {
	OrgID       string `json:"orgId"`
	ShortName   string `json:"shortName,omitempty"`
	DateUpdated string `json:"dateUpdated"`
}

type cveText struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}

type cveProduct struct {
	Vendor        string       `json:"vendor"`
	Product       string       `json:"product"`
	PackageName   string       `json:"packageName,omitempty"`
	Repo          string       `json:"repo,omitempty"`
	DefaultStatus string       `json:"defaultStatus"`
	Versions      []cveVersion `json:"versions"`
}

type cveVersion struct {
	Version         string `json:"version"`
	Status          string `json:"status"`
	VersionType     string `json:"versionType"`
	LessThan        string `json:"lessThan,omitempty"`
	LessThanOrEqual string `json:"lessThanOrEqual,omitempty"`
}

type cveProblemType struct {
	Descriptions []cveProblem `json:"descriptions"`
}

type cveProblem struct {
	Lang        string `json:"lang"`
	Description string `json:"description"`
	CWEID       string `json:"cweId"`
	Type        string `json:"type"`
}

type cveMetric struct {
	Format    string      `json:"format"`
	Scenarios []cveText   `json:"scenarios"`
	CVSSv31   *cveCVSS    `json:"cvssV3_1,omitempty"`
	CVSSv40   *cveCVSS    `json:"cvssV4_0,omitempty"`
	Other     *cveOtherMx `json:"other,omitempty"`
}

type cveCVSS struct {
	Version      string  `json:"version"`
	VectorString string  `json:"vectorString"`
	BaseScore    float64 `json:"baseScore"`
	BaseSeverity string  `json:"baseSeverity"`
}

type cveOtherMx struct {
	Type    string            `json:"type"`
	Content map[string]string `json:"content"`
}

type cveCredit struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
	Type  string `json:"type"`
}

type cveReference struct {
	URL  string   `json:"url"`
	Tags []string `json:"tags"`
}

// cveTime is the record's timestamp form (UTC, seconds).
func cveTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// CVERecords returns the CVE JSON 5 record of each of the advisory's CVE
// ids, keyed by id, as indented JSON. An advisory without CVE ids has none.
func CVERecords(a bot.Advisory, s Settings) (map[string][]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkPublished(a); err != nil {
		return nil, err
	}
	cna, err := cnaContainer(a, s)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, id := range a.CVEs {
		rec := cveRecord{
			DataType:    "CVE_RECORD",
			DataVersion: "5.1",
			CVEMetadata: cveMetadata{
				CVEID: id, AssignerOrgID: s.orgID(), AssignerShortName: s.CNAShortName, State: "PUBLISHED",
				DatePublished: cveTime(a.Published), DateUpdated: cveTime(modified(a)),
			},
			Containers: cveContainers{CNA: cna},
		}
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return nil, err
		}
		out[id] = append(b, '\n')
	}
	return out, nil
}

// CNAContainerJSON returns the CNA container alone (indented JSON), the
// same for every CVE id of the advisory: what CVE Services' publish call
// (and cvelib's `cve publish CVE-ID -f FILE`) take for each id.
func CNAContainerJSON(a bot.Advisory, s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkPublished(a); err != nil {
		return nil, err
	}
	c, err := cnaContainer(a, s)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func cnaContainer(a bot.Advisory, s Settings) (CNAContainer, error) {
	c := CNAContainer{
		ProviderMetadata: cveProvider{OrgID: s.orgID(), ShortName: s.CNAShortName, DateUpdated: cveTime(modified(a))},
		Title:            a.Title,
		DatePublic:       cveTime(a.Published),
		Descriptions:     []cveText{{Lang: "en", Value: a.Summary + "\n\n" + a.Description}},
	}
	for _, p := range a.Affected {
		c.Affected = append(c.Affected, cveAffected(p, s))
	}
	for _, cwe := range a.CWEs {
		c.ProblemTypes = append(c.ProblemTypes, cveProblemType{Descriptions: []cveProblem{
			{Lang: "en", Description: cwe, CWEID: cwe, Type: "CWE"},
		}})
	}
	m, err := cveMetrics(a)
	if err != nil {
		return c, err
	}
	c.Metrics = m
	if w := strings.TrimSpace(a.Workarounds); w != "" {
		c.Workarounds = []cveText{{Lang: "en", Value: w}}
	}
	for _, cr := range a.PublishedCredits() {
		c.Credits = append(c.Credits, cveCredit{Lang: "en", Value: cr.Name, Type: cr.Type})
	}
	// The advisory page first: it is the vendor advisory for every CVE id.
	c.References = []cveReference{{URL: s.pageURL(a), Tags: []string{"vendor-advisory"}}}
	for _, r := range a.References {
		i := slices.IndexFunc(c.References, func(x cveReference) bool { return x.URL == r.URL })
		if i < 0 {
			c.References = append(c.References, cveReference{URL: r.URL, Tags: []string{r.Type}})
		} else if !slices.Contains(c.References[i].Tags, r.Type) {
			c.References[i].Tags = append(c.References[i].Tags, r.Type)
		}
	}
	return c, nil
}

// cveAffected lists a product's affected ranges. Versions outside them are
// unaffected: every affected branch is listed, each up to its fix.
func cveAffected(p bot.Affected, s Settings) cveProduct {
	out := cveProduct{Vendor: s.Vendor, Product: p.Product, PackageName: p.Package, Repo: p.Repo, DefaultStatus: "unaffected"}
	for _, r := range p.Ranges {
		v := cveVersion{Version: r.Introduced, Status: "affected", VersionType: versionType(r.Introduced, r.Fixed)}
		if r.Fixed != "" {
			v.LessThan = r.Fixed
		} else {
			v.LessThanOrEqual = "*" // no fix yet: every later version on the branch
		}
		out.Versions = append(out.Versions, v)
		if r.IntroducedCommit != "" || r.FixedCommit != "" {
			g := cveVersion{Version: orZero(r.IntroducedCommit), Status: "affected", VersionType: "git"}
			if r.FixedCommit != "" {
				g.LessThan = r.FixedCommit
			} else {
				g.LessThanOrEqual = "*"
			}
			out.Versions = append(out.Versions, g)
		}
	}
	return out
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// semverRE is Semantic Versioning 2.0's own grammar (semver.org).
var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

func isSemver(v string) bool { return semverRE.MatchString(v) }

// versionType is "semver" when both ends are SemVer ("0" counts as the
// start of everything), and "custom" otherwise.
func versionType(introduced, fixed string) string {
	if (introduced == "0" || isSemver(introduced)) && (fixed == "" || isSemver(fixed)) {
		return "semver"
	}
	return "custom"
}

func cveMetrics(a bot.Advisory) ([]cveMetric, error) {
	general := []cveText{{Lang: "en", Value: "GENERAL"}}
	if a.CVSS != "" {
		sc, err := scoreVector(a.CVSS)
		if err != nil {
			return nil, fmt.Errorf("advisory %s: %w", a.ID, err)
		}
		c := &cveCVSS{Version: sc.Version, VectorString: sc.Vector, BaseScore: sc.Score, BaseSeverity: sc.Severity}
		m := cveMetric{Format: "CVSS", Scenarios: general}
		if sc.Version == "3.1" {
			m.CVSSv31 = c
		} else {
			m.CVSSv40 = c
		}
		return []cveMetric{m}, nil
	}
	if a.Severity == "" || a.Severity == bot.SeverityUnknown {
		return nil, nil
	}
	return []cveMetric{{Format: "other", Scenarios: general, Other: &cveOtherMx{
		Type: "Textual description of severity", Content: map[string]string{"text": string(a.Severity)},
	}}}, nil
}
