package bot

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
