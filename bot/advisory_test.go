package bot_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// readyAdvisory is a draft that passes every check but the approvals.
func readyAdvisory(t *testing.T) bot.Advisory {
	t.Helper()
	a := bot.NewAdvisory(&bot.Incident{ID: 7, Title: "secret subject", Severity: bot.SeverityHigh, Assignee: "carol"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Set("title", "Path traversal in the archive extractor"))
	must(a.Set("summary", "Crafted archives write outside the target directory."))
	must(a.Set("description", "Entries with ../ in their names escaped the target.\n\nUpgrade."))
	r, err := bot.ParseVersionRange("1.4: 1.4.0..1.4.3")
	must(err)
	must(a.AddAffected("libexample", r))
	must(a.AddReference("patch", "https://git.example.org/libexample/commit/abc"))
	return a
}

func TestAdvisoryNewTakesNothingFromTheReport(t *testing.T) {
	inc := &bot.Incident{ID: 3, Title: "CANARY subject", Severity: bot.SeverityCritical,
		CVSS: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, CVEs: []string{"CVE-2026-1234"}, Assignee: "carol"}
	a := bot.NewAdvisory(inc)
	if a.Title != "" || a.Summary != "" || a.Description != "" {
		t.Errorf("draft copied report text: %+v", a)
	}
	if a.Incident != 3 || a.Severity != bot.SeverityCritical || a.Score != 9.8 || a.PatchAuthor != "carol" ||
		!slices.Equal(a.CVEs, inc.CVEs) {
		t.Errorf("draft lost what the team set: %+v", a)
	}
	a.CVEs[0] = "CVE-2026-9999"
	if inc.CVEs[0] != "CVE-2026-1234" {
		t.Error("draft aliases the incident's CVE list")
	}
}

func TestAdvisorySetValidates(t *testing.T) {
	tests := []struct {
		field, value string
		wantErr      string // "" = accepted
	}{
		{"title", "Heap overflow in parser", ""},
		{"title", "two\nlines", "one line"},
		{"title", strings.Repeat("x", 201), "at most 200"},
		{"summary", "bell\a", "control"},
		{"description", "para one\n\npara two\twith tab", ""},
		{"description", "nul\x00", "control"},
		{"description", "bad \xff utf8", "UTF-8"},
		{"workarounds", "Disable the feature.", ""},
		{"cwe", "CWE-79, 22", ""},
		{"cwe", "CWE-079", "not a CWE id"},
		{"cwe", "CWE-0", "not a CWE id"},
		{"cwe", "XSS", "not a CWE id"},
		{"cve", "CVE-2026-1234 cve-2026-12345", ""},
		{"cve", "CVE-26-1", "not a CVE id"},
		{"cve", "CVE-2026-012345", "cannot start with 0"},
		{"cve", "CVE-1998-1234", "start at 1999"},
		{"colour", "red", "not an advisory field"},
	}
	for _, tt := range tests {
		t.Run(tt.field+"="+tt.value, func(t *testing.T) {
			var a bot.Advisory
			err := a.Set(tt.field, tt.value)
			checkErr(t, err, tt.wantErr)
			if err == nil {
				if verr := a.Validate(); verr != nil {
					t.Errorf("Set accepted what Validate refuses: %v", verr)
				}
			}
		})
	}
	var a bot.Advisory
	if err := a.Set("cwe", "CWE-79, 22 79"); err != nil || !slices.Equal(a.CWEs, []string{"CWE-79", "CWE-22"}) {
		t.Errorf("cwe list = %v, %v; want normalised without repeats", a.CWEs, err)
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("accepted; want an error containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q; want it to contain %q", err, want)
	case err != nil && bot.KindOf(err) != bot.KindInvalid:
		t.Errorf("error kind %s; want invalid", bot.KindOf(err))
	}
}

func TestAdvisoryVersionRanges(t *testing.T) {
	tests := []struct {
		in      string
		want    bot.VersionRange
		wantErr string
	}{
		{"1.4: 1.4.0..1.4.3", bot.VersionRange{Branch: "1.4", Introduced: "1.4.0", Fixed: "1.4.3"}, ""},
		{"..2.1.0", bot.VersionRange{Introduced: "0", Fixed: "2.1.0"}, ""},
		{"0..2.1.0", bot.VersionRange{Introduced: "0", Fixed: "2.1.0"}, ""},
		{"1.5.0..", bot.VersionRange{Introduced: "1.5.0"}, ""},
		{"v1.2.9..v1.2.10", bot.VersionRange{Introduced: "v1.2.9", Fixed: "v1.2.10"}, ""},
		{"2.0.0-rc1..2.0.0", bot.VersionRange{Introduced: "2.0.0-rc1", Fixed: "2.0.0"}, ""},
		{"2024a..2024b", bot.VersionRange{Introduced: "2024a", Fixed: "2024b"}, ""}, // not comparable: as written
		{"1.4.3..1.4.0", bot.VersionRange{}, "must come after"},
		{"1.4.0..1.4.0", bot.VersionRange{}, "must come after"},
		{"2.0.0..2.0.0-rc1", bot.VersionRange{}, "must come after"},
		{"1.0..0", bot.VersionRange{}, "cannot be 0"},
		{"1.4.0", bot.VersionRange{}, "not a range"},
		{"1.4.0 beta..2", bot.VersionRange{}, "one word"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := bot.ParseVersionRange(tt.in)
			checkErr(t, err, tt.wantErr)
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	commit := strings.Repeat("a", 40)
	for _, tt := range []struct {
		r       bot.VersionRange
		wantErr string
	}{
		{bot.VersionRange{Introduced: "0", IntroducedCommit: "0123", FixedCommit: commit}, "full lower-case"},
		{bot.VersionRange{Introduced: "0", FixedCommit: strings.ToUpper(commit)}, "full lower-case"},
		{bot.VersionRange{Introduced: "0", IntroducedCommit: commit, FixedCommit: commit}, "cannot be the commit"},
		{bot.VersionRange{Introduced: "0", FixedCommit: strings.Repeat("b", 64)}, ""},
		{bot.VersionRange{Fixed: "1.0"}, "introduced"},
	} {
		checkErr(t, tt.r.Validate(), tt.wantErr)
	}
}

func TestAdvisoryAffectedValidation(t *testing.T) {
	r := bot.VersionRange{Introduced: "0", Fixed: "1.0"}
	commit := strings.Repeat("c", 40)
	tests := []struct {
		name    string
		p       bot.Affected
		wantErr string
	}{
		{"plain", bot.Affected{Product: "lib", Ranges: []bot.VersionRange{r}}, ""},
		{"no ranges", bot.Affected{Product: "lib"}, "at least one"},
		{"no name", bot.Affected{Ranges: []bot.VersionRange{r}}, "needs a name"},
		{"ecosystem without package", bot.Affected{Product: "lib", Ecosystem: "Go", Ranges: []bot.VersionRange{r}}, "both"},
		{"two ranges, one branch", bot.Affected{Product: "lib", Ranges: []bot.VersionRange{r, r}}, "two ranges"},
		{"commits without repo", bot.Affected{Product: "lib", Ranges: []bot.VersionRange{{Introduced: "0", FixedCommit: commit}}}, "repository"},
		{"repo not http", bot.Affected{Product: "lib", Repo: "git://example.org/x", Ranges: []bot.VersionRange{r}}, "only http"},
		{"unknown ecosystem", bot.Affected{Product: "lib", Ecosystem: "CPAN", Package: "x", Ranges: []bot.VersionRange{r}}, "not an OSV ecosystem"},
		{"ecosystem with suffix", bot.Affected{Product: "lib", Ecosystem: "Debian:12", Package: "x", Ranges: []bot.VersionRange{r}}, ""},
		{"bad range inside", bot.Affected{Product: "lib", Ranges: []bot.VersionRange{{Introduced: "2", Fixed: "1"}}}, "lib: The range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.p.Validate(), tt.wantErr) })
	}

	var a bot.Advisory
	for _, s := range []string{"1.4: 1.4.0..1.4.2", "1.5: 1.5.0..1.5.1", "1.4: 1.4.0..1.4.3"} {
		rng, err := bot.ParseVersionRange(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.AddAffected("lib", rng); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.Affected) != 1 || len(a.Affected[0].Ranges) != 2 || a.Affected[0].Ranges[0].Fixed != "1.4.3" {
		t.Errorf("a range for a known branch must replace it: %+v", a.Affected)
	}
	if err := a.SetPackage("lib", "Go", "example.org/lib", "https://git.example.org/lib"); err != nil || a.Affected[0].Package != "example.org/lib" {
		t.Errorf("SetPackage: %v %+v", err, a.Affected[0])
	}
	if err := a.SetPackage("lib", "Go", "", ""); bot.KindOf(err) != bot.KindInvalid || a.Affected[0].Ecosystem != "Go" {
		t.Errorf("SetPackage with half a package must be refused and change nothing: %v", err)
	}
	if err := a.SetPackage("nolib", "", "", ""); bot.KindOf(err) != bot.KindNotFound {
		t.Errorf("SetPackage of an unknown product: %v", err)
	}
	if got := a.FixedVersions(); !slices.Equal(got, []string{"1.4.3", "1.5.1"}) {
		t.Errorf("FixedVersions = %v", got)
	}
}

func TestAdvisoryReferencesAndCredits(t *testing.T) {
	for _, tt := range []struct {
		typ, url, wantErr string
	}{
		{"patch", "https://github.com/o/r/commit/abc", ""},
		{"release-notes", "http://example.org/notes", ""},
		{"Vendor-Advisory", "https://example.org/a", ""},
		{"fix", "https://example.org/a", "not a reference type"},
		{"patch", "javascript:alert(1)", "only http"},
		{"patch", "ftp://example.org/x", "only http"},
		{"patch", "https:///nohost", "no host"},
		{"patch", "https://user:pw@example.org/", "user name"},
		{"patch", "https://example.org/a b", "spaces"},
		{"patch", "/relative", "only http"},
		{"patch", "https://example.org/" + strings.Repeat("x", 2000), "longer"},
	} {
		t.Run(tt.typ+" "+tt.url[:min(len(tt.url), 40)], func(t *testing.T) {
			var a bot.Advisory
			checkErr(t, a.AddReference(tt.typ, tt.url), tt.wantErr)
		})
	}
	var a bot.Advisory
	_ = a.AddReference("patch", "https://example.org/p")
	_ = a.AddReference("release-notes", "https://example.org/p")
	if len(a.References) != 1 || a.References[0].Type != "release-notes" {
		t.Errorf("the same URL again must retype it: %+v", a.References)
	}

	for _, tt := range []struct {
		c       bot.Credit
		wantErr string
	}{
		{bot.Credit{Name: "Ada L.", Consent: true}, ""}, // type defaults to finder
		{bot.Credit{Name: "Team X", Type: "remediation reviewer"}, ""},
		{bot.Credit{Name: "", Type: "finder"}, "needs the name"},
		{bot.Credit{Name: "Eve\nBCC: x", Type: "finder"}, "one line"},
		{bot.Credit{Name: "Eve", Type: "hero"}, "not a credit type"},
	} {
		checkErr(t, a.AddCredit(tt.c), tt.wantErr)
	}
	if got := a.PublishedCredits(); len(got) != 1 || got[0].Name != "Ada L." || got[0].Type != "finder" {
		t.Errorf("only consented credits are published: %+v", got)
	}
}

func TestAdvisoryValidateWholeDraft(t *testing.T) {
	base := readyAdvisory(t)
	if err := base.Validate(); err != nil {
		t.Fatalf("ready draft invalid: %v", err)
	}
	tests := []struct {
		name    string
		mutate  func(a *bot.Advisory)
		wantErr string
	}{
		{"severity", func(a *bot.Advisory) { a.Severity = "apocalyptic" }, "severity"},
		{"cvss version", func(a *bot.Advisory) { a.CVSS = "CVSS:2.0/AV:N" }, "not a CVSS"},
		{"cvss score", func(a *bot.Advisory) { a.CVSS, a.Score = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 11 }, "between 0 and 10"},
		{"cwe", func(a *bot.Advisory) { a.CWEs = []string{"79"} }, "not a CWE"},
		{"cve", func(a *bot.Advisory) { a.CVEs = []string{"CVE-2026-1"} }, "not a CVE"},
		{"cve twice", func(a *bot.Advisory) { a.CVEs = []string{"CVE-2026-1234", "CVE-2026-1234"} }, "twice"},
		{"product twice", func(a *bot.Advisory) { a.Affected = append(a.Affected, a.Affected[0]) }, "twice"},
		{"reference", func(a *bot.Advisory) { a.References[0].URL = "data:text/html,x" }, "only http"},
		{"credit", func(a *bot.Advisory) { a.Credits = []bot.Credit{{Name: "x", Type: "boss"}} }, "credit type"},
		{"title", func(a *bot.Advisory) { a.Title = "a\rb" }, "one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base.Clone()
			tt.mutate(&a)
			checkErr(t, a.Validate(), tt.wantErr)
			if err := base.Validate(); err != nil {
				t.Fatalf("mutating a clone changed the original: %v", err)
			}
		})
	}
}

func TestAdvisoryReview(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	alice := &bot.Person{Name: "alice", Role: bot.RoleOfficer}
	bob := &bot.Person{Name: "bob", Role: bot.RoleMember}
	carol := &bot.Person{Name: "carol", Role: bot.RoleMember} // patch author
	dave := &bot.Person{Name: "dave", Role: bot.RoleMember}
	policy := bot.DefaultPublicationPolicy()

	a, _, err := readyAdvisory(t).Edit("dave", func(a *bot.Advisory) error { return a.Set("workarounds", "None.") })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(a.Editors, "dave") {
		t.Fatalf("editor not recorded: %v", a.Editors)
	}
	if got := a.Missing(policy); !slices.Equal(got, []string{
		"2 approvals of the text (0 so far)", "an officer's approval of the text",
		"2 approvals of the patch (0 so far)", "an officer's approval of the patch",
	}) {
		t.Errorf("Missing = %q", got)
	}

	// Nobody approves their own work; outsiders approve nothing.
	if _, err := a.Approve(dave, bot.ReviewText, now); bot.KindOf(err) != bot.KindForbidden {
		t.Errorf("editor approving the text: %v", err)
	}
	if _, err := a.Approve(carol, bot.ReviewPatch, now); bot.KindOf(err) != bot.KindForbidden {
		t.Errorf("patch author approving the patch: %v", err)
	}
	if _, err := a.Approve(nil, "", now); bot.KindOf(err) != bot.KindForbidden {
		t.Errorf("outsider approving: %v", err)
	}
	if _, err := a.Approve(bob, "code", now); bot.KindOf(err) != bot.KindInvalid {
		t.Errorf("unknown kind: %v", err)
	}
	// Approving both kinds approves what the person may approve.
	if got, err := a.Approve(dave, "", now); err != nil || !slices.Equal(got, []bot.ReviewKind{bot.ReviewPatch}) {
		t.Errorf("dave approving both = %v, %v; want the patch only", got, err)
	}
	if got, err := a.Approve(bob, "", now); err != nil || len(got) != 2 {
		t.Errorf("bob approving both = %v, %v", got, err)
	}
	if _, err := a.Approve(bob, "", now); bot.KindOf(err) != bot.KindConflict {
		t.Errorf("approving twice: %v", err)
	}
	if got := a.Missing(policy); !slices.Equal(got, []string{
		"2 approvals of the text (1 so far)", "an officer's approval of the text", "an officer's approval of the patch",
	}) {
		t.Errorf("Missing after two member approvals = %q", got)
	}
	if _, err := a.Approve(carol, bot.ReviewText, now); err != nil {
		t.Fatal(err)
	}
	if got := a.Missing(policy); !slices.Equal(got, []string{"an officer's approval of the text", "an officer's approval of the patch"}) {
		t.Errorf("two members are not enough without an officer: %q", got)
	}
	if _, err := a.Approve(alice, "", now); err != nil {
		t.Fatal(err)
	}
	if got := a.Missing(policy); len(got) != 0 {
		t.Errorf("Missing when ready = %q", got)
	}
	if got := a.Missing(bot.PublicationPolicy{Approvals: 4, RequireCVE: true}); !slices.Equal(got, []string{
		"a CVE id", "4 approvals of the text (3 so far)", "4 approvals of the patch (3 so far)",
	}) {
		t.Errorf("Missing under a stricter policy = %q", got)
	}

	// An edit that changes nothing keeps the approvals; any real edit,
	// through any setter, withdraws them all.
	same, res, err := a.Edit("bob", func(a *bot.Advisory) error { return a.Set("title", a.Title) })
	if err != nil || res.Changed || len(same.Approvals) != len(a.Approvals) || slices.Contains(same.Editors, "bob") {
		t.Errorf("a no-op edit reset approvals or recorded an editor: %+v %v", res, err)
	}
	edits := map[string]func(*bot.Advisory) error{
		"set": func(a *bot.Advisory) error { return a.Set("summary", "Changed.") },
		"affected": func(a *bot.Advisory) error {
			return a.AddAffected("other", bot.VersionRange{Introduced: "0", Fixed: "2"})
		},
		"reference": func(a *bot.Advisory) error { return a.AddReference("release-notes", "https://example.org/n") },
		"credit":    func(a *bot.Advisory) error { return a.AddCredit(bot.Credit{Name: "Ada", Consent: true}) },
		"direct":    func(a *bot.Advisory) error { a.Affected[0].Ranges[0].Fixed = "1.4.4"; return nil },
		"severity":  func(a *bot.Advisory) error { a.Severity = bot.SeverityLow; return nil },
	}
	for name, edit := range edits {
		t.Run("edit "+name, func(t *testing.T) {
			b, res, err := a.Edit("bob", edit)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Changed || len(res.Reset) != 6 || len(b.Approvals) != 0 || !slices.Contains(b.Editors, "bob") {
				t.Errorf("edit kept approvals: %+v, now %d approvals, editors %v", res, len(b.Approvals), b.Editors)
			}
			if len(a.Approvals) != 6 || a.Affected[0].Ranges[0].Fixed != "1.4.3" {
				t.Error("Edit changed the original draft")
			}
			if _, err := b.Approve(bob, bot.ReviewText, now); bot.KindOf(err) != bot.KindForbidden {
				t.Errorf("bob edited, so he may no longer approve the text: %v", err)
			}
		})
	}
	if _, _, err := a.Edit("bob", func(a *bot.Advisory) error { a.CWEs = []string{"bad"}; return nil }); err == nil {
		t.Error("Edit must refuse a change that leaves the draft invalid")
	}
}

func TestAdvisoryMissingOnEmptyDraft(t *testing.T) {
	var a bot.Advisory
	got := a.Missing(bot.PublicationPolicy{Approvals: 1, RequireCVE: true})
	want := []string{"a title", "a summary", "a description", "an affected product with its version ranges",
		"a fixed version", "a reference of type patch", "a CVE id",
		"1 approval of the text (0 so far)", "an officer's approval of the text",
		"1 approval of the patch (0 so far)", "an officer's approval of the patch"}
	if !slices.Equal(got, want) {
		t.Errorf("Missing =\n%q\nwant\n%q", got, want)
	}
	// Nothing to approve is a conflict (write it first), not a refusal
	// of the person: the permission table tells the two apart.
	if _, err := a.Approve(&bot.Person{Name: "x"}, "", time.Now()); bot.KindOf(err) != bot.KindConflict {
		t.Errorf("approving an empty draft: %v", err)
	}
	if err := (bot.PublicationPolicy{}).Validate(); err == nil {
		t.Error("zero approvals must be refused")
	}
}
