package bot

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

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
