package publish_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/publish"
)

var testSettings = publish.Settings{
	Vendor:       "Example Project",
	Project:      "Example",
	BaseURL:      "https://security.example.org",
	OSVPrefix:    "x_EXAMPLE-",
	CNAShortName: "example",
}

var testPolicy = publish.Policy{
	Scope:          "This policy covers libexample, exampled and the example.org web site.\n\nThird-party plugins are out of scope.",
	Mail:           "security@example.org",
	FormURL:        "https://security.example.org/report",
	KeyFingerprint: "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567",
	KeyURL:         "https://security.example.org/key.asc",
	Disclosure:     "We coordinate a release date with you and publish the advisory when the fix is out.",
	Deadlines:      bot.DefaultDeadlines(),
}

var (
	commitA = strings.Repeat("a1", 20)
	commitB = strings.Repeat("b2", 20)
	commitC = strings.Repeat("c3", 20)
	commitD = strings.Repeat("d4", 20)
)

// build makes a draft the way the commands will: from the incident, then
// through the setters, then marked published.
func build(t *testing.T, inc *bot.Incident, id string, published time.Time, edit func(a *bot.Advisory) error) bot.Advisory {
	t.Helper()
	a := bot.NewAdvisory(inc)
	if err := edit(&a); err != nil {
		t.Fatalf("fixture %s: %v", id, err)
	}
	a.ID, a.Published = id, published
	if err := a.Validate(); err != nil {
		t.Fatalf("fixture %s: %v", id, err)
	}
	return a
}

func steps(fs ...func() error) error {
	for _, f := range fs {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func rng(t *testing.T, s string) bot.VersionRange {
	t.Helper()
	r, err := bot.ParseVersionRange(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// simpleAdvisory: one Go package, one branch, one CVE, CVSS 3.1.
func simpleAdvisory(t *testing.T) bot.Advisory {
	inc := &bot.Incident{ID: 11, Severity: bot.SeverityHigh, CVSS: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:N",
		Score: 8.1, CVEs: []string{"CVE-2026-10001"}, Assignee: "carol"}
	return build(t, inc, "2026-1", time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC), func(a *bot.Advisory) error {
		return steps(
			func() error { return a.Set("title", "Cross-site scripting in the example web console") },
			func() error { return a.Set("summary", "The console echoed search terms unescaped.") },
			func() error {
				return a.Set("description", "A crafted link could run script in an administrator's session.\n\nThe console now escapes every search term.")
			},
			func() error { return a.Set("cwe", "CWE-79") },
			func() error { return a.AddAffected("example-console", rng(t, "0..v1.8.2")) },
			func() error {
				return a.SetPackage("example-console", "Go", "example.org/console", "https://git.example.org/console")
			},
			func() error { return a.AddReference("patch", "https://git.example.org/console/commit/"+commitA) },
			func() error { return a.AddReference("release-notes", "https://example.org/releases/1.8.2") },
			func() error { return a.AddCredit(bot.Credit{Name: "Ada Lovelace", Type: "finder", Consent: true}) },
		)
	})
}

// complexAdvisory: several CVE ids, several products, several branches
// per product, commit ranges, an unfixed branch, CVSS 4.0, a PyPI package
// (ECOSYSTEM ranges), a tarball-only product with commits (GIT), and a
// credit without consent.
func complexAdvisory(t *testing.T) bot.Advisory {
	inc := &bot.Incident{ID: 12, Severity: bot.SeverityCritical,
		CVSS:  "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		Score: 9.3, CVEs: []string{"CVE-2026-10002", "CVE-2026-10003"}, Assignee: "carol"}
	a := build(t, inc, "2026-2", time.Date(2026, 4, 15, 9, 30, 0, 0, time.UTC), func(a *bot.Advisory) error {
		return steps(
			func() error { return a.Set("title", "Heap overflow and path traversal in archive extraction") },
			func() error {
				return a.Set("summary", "Crafted archives overflow a heap buffer or write outside the target.")
			},
			func() error {
				return a.Set("description", "Two flaws in the extractor: a length check missed by one (CVE-2026-10002) and "+
					"names with ../ that escaped the target directory (CVE-2026-10003).\n\nBoth are fixed on every maintained branch.")
			},
			func() error { return a.Set("workarounds", "Extract untrusted archives in a sandbox.") },
			func() error { return a.Set("cwe", "CWE-122 CWE-22") },
			func() error { return a.AddAffected("libexample", rng(t, "1.4: 1.4.0..1.4.7")) },
			func() error { return a.AddAffected("libexample", rng(t, "1.5: 1.5.0..1.5.2")) },
			func() error { return a.AddAffected("libexample", rng(t, "2.0: 2.0.0-rc1..")) },
			func() error { return a.SetPackage("libexample", "", "", "https://git.example.org/libexample") },
			func() error { return a.AddAffected("example-py", rng(t, "0..3.2.1")) },
			func() error { return a.AddAffected("example-py", rng(t, "4: 4.0..4.0.3")) },
			func() error { return a.SetPackage("example-py", "PyPI", "example", "") },
			func() error { return a.AddReference("patch", "https://git.example.org/libexample/commit/"+commitB) },
			func() error { return a.AddReference("patch", "https://git.example.org/libexample/commit/"+commitD) },
			func() error {
				return a.AddReference("vendor-advisory", "https://security.example.org/advisories/2026-2.html")
			},
			func() error {
				return a.AddReference("mailing-list", "https://lists.example.org/announce/2026/000042.html")
			},
			func() error { return a.AddCredit(bot.Credit{Name: "Grace H.", Type: "reporter", Consent: true}) },
			func() error { return a.AddCredit(bot.Credit{Name: "Secret Person", Type: "finder", Consent: false}) },
			func() error {
				return a.AddCredit(bot.Credit{Name: "Example fuzzing team", Type: "remediation developer", Consent: true})
			},
		)
	})
	// Commit ranges for the library's branches (set directly, as an
	// import from the repository would).
	a.Affected[0].Ranges[0].IntroducedCommit, a.Affected[0].Ranges[0].FixedCommit = commitA, commitB
	a.Affected[0].Ranges[1].FixedCommit = commitD
	a.Affected[0].Ranges[2].IntroducedCommit = commitC
	a.Modified = a.Published.Add(48 * time.Hour)
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	return a
}

// plainAdvisory: no CVE id, severity by level only, one branch.
func plainAdvisory(t *testing.T) bot.Advisory {
	inc := &bot.Incident{ID: 13, Severity: bot.SeverityLow, Assignee: "dave"}
	return build(t, inc, "2026-3", time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), func(a *bot.Advisory) error {
		return steps(
			func() error { return a.Set("title", "Timing leak in token comparison") },
			func() error { return a.Set("summary", "API tokens were compared in variable time.") },
			func() error {
				return a.Set("description", "An attacker measuring response times could guess a token byte by byte.")
			},
			func() error { return a.AddAffected("exampled", rng(t, "2.1.0..2.1.4")) },
			func() error { return a.SetPackage("exampled", "npm", "exampled", "") },
			func() error { return a.AddReference("patch", "https://git.example.org/exampled/pull/77") },
		)
	})
}

func allAdvisories(t *testing.T) []bot.Advisory {
	return []bot.Advisory{simpleAdvisory(t), complexAdvisory(t), plainAdvisory(t)}
}
