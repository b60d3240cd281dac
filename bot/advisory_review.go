package bot

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// ReviewKind is what an approval vouches for: the advisory's text or the
// patch it references.
type ReviewKind string

const (
	ReviewText  ReviewKind = "text"
	ReviewPatch ReviewKind = "patch"
)

// ReviewKinds lists every kind; approving without a kind approves each.
var ReviewKinds = []ReviewKind{ReviewText, ReviewPatch}

// Approval is one team member's sign-off. Officer is the approver's role
// when they approved: the record says what was true at the time.
type Approval struct {
	By      string // person name
	Kind    ReviewKind
	Officer bool
	At      time.Time
}

// PublicationPolicy is what [publication] requires before publishing.
type PublicationPolicy struct {
	// Approvals is how many different team members must approve the text
	// and, separately, the patch; at least one of each set is an officer.
	Approvals  int
	RequireCVE bool
	// BaseURL is where the pages are served (the reporter's link).
	BaseURL string
	// DistrosList is the distros pre-notification list's address; empty
	// when the team does not use one.
	DistrosList string
}

// DefaultPublicationPolicy asks for two approvals and no CVE id.
func DefaultPublicationPolicy() PublicationPolicy { return PublicationPolicy{Approvals: 2} }

// Validate checks the policy's numbers.
func (p PublicationPolicy) Validate() error {
	if p.Approvals < 1 || p.Approvals > 10 {
		return fmt.Errorf("publication approvals must be between 1 and 10, not %d", p.Approvals)
	}
	return nil
}

// Approve records by's approval of kind, or of every kind when kind is
// empty, and returns the kinds newly approved. Nobody approves their own
// work: an editor of the draft may not approve its text, the patch's
// author may not approve the patch.
func (a *Advisory) Approve(by *Person, kind ReviewKind, now time.Time) ([]ReviewKind, error) {
	if by == nil {
		return nil, Errorf(KindForbidden, "Only team members approve advisories.")
	}
	kinds := ReviewKinds
	if kind != "" {
		if !slices.Contains(ReviewKinds, kind) {
			return nil, Errorf(KindInvalid, "%q is not something to approve; approve text or patch.", kind)
		}
		kinds = []ReviewKind{kind}
	}
	var added []ReviewKind
	var refusals []string
	// Approving one's own work is forbidden; approving what is not
	// there yet is a conflict the team resolves by writing it.
	refusal := KindConflict
	for _, k := range kinds {
		if a.approvedBy(by.Name, k) {
			continue
		}
		if why, own := a.cannotApprove(by.Name, k); why != "" {
			refusals = append(refusals, why)
			if own {
				refusal = KindForbidden
			}
			continue
		}
		a.Approvals = append(a.Approvals, Approval{By: by.Name, Kind: k, Officer: by.IsOfficer(), At: now})
		added = append(added, k)
	}
	if len(added) == 0 && len(refusals) > 0 {
		return nil, Errorf(refusal, "%s", strings.Join(refusals, " "))
	}
	if len(added) == 0 {
		return nil, Errorf(KindConflict, "%s has already approved this.", by.Name)
	}
	return added, nil
}

func (a *Advisory) cannotApprove(name string, k ReviewKind) (why string, own bool) {
	switch k {
	case ReviewText:
		if slices.Contains(a.Editors, name) {
			return fmt.Sprintf("%s edited the text, so someone else must approve it.", name), true
		}
		if a.Title == "" || a.Description == "" {
			return "There is no text to approve yet (title and description).", false
		}
	case ReviewPatch:
		if name == a.PatchAuthor {
			return fmt.Sprintf("%s wrote the patch, so someone else must approve it.", name), true
		}
		if !a.hasReference("patch") {
			return "There is no patch to approve yet: add a reference of type patch.", false
		}
	}
	return "", false
}

func (a *Advisory) approvedBy(name string, k ReviewKind) bool {
	return slices.ContainsFunc(a.Approvals, func(ap Approval) bool { return ap.By == name && ap.Kind == k })
}

func (a *Advisory) hasReference(typ string) bool {
	return slices.ContainsFunc(a.References, func(r Reference) bool { return r.Type == typ })
}

// EditResult says what an edit did.
type EditResult struct {
	Changed bool
	Reset   []Approval // approvals the edit withdrew
}

// Edit applies change to a copy of a and returns the new draft. A change
// that alters anything publishable makes editor an editor and withdraws
// every approval: what was approved is no longer what would be published.
// Comparing the whole content, rather than trusting each setter to say
// what it touched, covers every path that edits a draft.
func (a Advisory) Edit(editor string, change func(*Advisory) error) (Advisory, EditResult, error) {
	b := a.Clone()
	if err := change(&b); err != nil {
		return a, EditResult{}, err
	}
	if err := b.Validate(); err != nil {
		return a, EditResult{}, err
	}
	if reflect.DeepEqual(a.content(), b.content()) {
		return a, EditResult{}, nil
	}
	res := EditResult{Changed: true, Reset: b.Approvals}
	b.Approvals = nil
	if editor != "" && !slices.Contains(b.Editors, editor) {
		b.Editors = append(b.Editors, editor)
	}
	return b, res, nil
}

// content is the draft without its review and publication bookkeeping,
// empty lists made nil, for comparing two versions.
func (a Advisory) content() Advisory {
	c := a.Clone()
	c.Editors, c.Approvals = nil, nil
	c.ID, c.Published, c.Modified = "", time.Time{}, time.Time{}
	if len(c.Affected) == 0 {
		c.Affected = nil
	}
	for i := range c.Affected {
		if len(c.Affected[i].Ranges) == 0 {
			c.Affected[i].Ranges = nil
		}
	}
	for _, l := range []*[]string{&c.CWEs, &c.CVEs} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(c.References) == 0 {
		c.References = nil
	}
	if len(c.Credits) == 0 {
		c.Credits = nil
	}
	return c
}

// Missing lists what still blocks publication under p, in the order a
// team would fix it; empty means the advisory may be published.
func (a Advisory) Missing(p PublicationPolicy) []string {
	var out []string
	if err := a.Validate(); err != nil {
		out = append(out, "a valid draft: "+UserMessage(err))
	}
	for _, f := range []struct{ name, value string }{
		{"a title", a.Title}, {"a summary", a.Summary}, {"a description", a.Description},
	} {
		if strings.TrimSpace(f.value) == "" {
			out = append(out, f.name)
		}
	}
	if len(a.Affected) == 0 {
		out = append(out, "an affected product with its version ranges")
	}
	if len(a.FixedVersions()) == 0 {
		out = append(out, "a fixed version")
	}
	if !a.hasReference("patch") {
		out = append(out, "a reference of type patch")
	}
	if p.RequireCVE && len(a.CVEs) == 0 {
		out = append(out, "a CVE id")
	}
	for _, k := range ReviewKinds {
		n, officer := a.approvals(k)
		if n < p.Approvals {
			noun := "approvals"
			if p.Approvals == 1 {
				noun = "approval"
			}
			out = append(out, fmt.Sprintf("%d %s of the %s (%d so far)", p.Approvals, noun, k, n))
		}
		if !officer {
			out = append(out, fmt.Sprintf("an officer's approval of the %s", k))
		}
	}
	return out
}

// approvals counts the different people who approved k, and whether one
// of them was an officer.
func (a Advisory) approvals(k ReviewKind) (n int, officer bool) {
	seen := map[string]bool{}
	for _, ap := range a.Approvals {
		if ap.Kind != k || seen[ap.By] {
			continue
		}
		seen[ap.By] = true
		officer = officer || ap.Officer
	}
	return len(seen), officer
}
