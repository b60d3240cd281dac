package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// showAdvisory renders the draft and what publication still needs. The
// draft is confidential until published: the reply is marked so, and
// adapters send it only to a private place.
func (h *handlers) showAdvisory(ctx context.Context, req *Request, id int64) (Reply, error) {
	inc, rec, err := h.svc.AdvisoryDraft(ctx, req.Actor, id)
	if err != nil {
		return Reply{}, err
	}
	if !rec.IsPublished() && !req.Private {
		return ok("%s's advisory draft is confidential until published: ask in a private channel or a direct message.", inc.Name()), nil
	}
	loc := req.Actor.Location()
	d := rec.Draft
	var t bot.Text
	status := "draft, not published"
	if rec.IsPublished() {
		status = fmt.Sprintf("published as %s on %s", d.ID, bot.FormatTime(d.Published, loc))
	}
	t.Plain(fmt.Sprintf("%s advisory (%s)", inc.Name(), status))
	line := func(label, value string) {
		if value == "" {
			value = "—"
		}
		t.Line().Plain(label + ": " + value)
	}
	line("Title", d.Title)
	line("Summary", d.Summary)
	line("Description", d.Description)
	if d.Workarounds != "" {
		line("Workarounds", d.Workarounds)
	}
	var affected []string
	for _, p := range d.Affected {
		var ranges []string
		for _, r := range p.Ranges {
			ranges = append(ranges, r.String())
		}
		s := p.Product
		if p.Ecosystem != "" {
			s += " (" + p.Ecosystem + " " + p.Package + ")"
		}
		affected = append(affected, s+" "+strings.Join(ranges, ", "))
	}
	line("Affected", strings.Join(affected, "; "))
	line("Fixed in", strings.Join(d.FixedVersions(), ", "))
	sev := string(d.Severity)
	if d.CVSS != "" {
		sev += fmt.Sprintf(" (%s, %.1f)", d.CVSS, d.Score)
	}
	line("Severity", sev)
	line("CWE", strings.Join(d.CWEs, ", "))
	line("CVE", strings.Join(d.CVEs, ", "))
	var refs []string
	for _, r := range d.References {
		refs = append(refs, r.Type+" "+r.URL)
	}
	line("References", strings.Join(refs, "; "))
	var credits []string
	for _, c := range d.Credits {
		credits = append(credits, c.Name+" ("+c.Type+")")
	}
	line("Credits", strings.Join(credits, "; "))
	line("Edited by", strings.Join(d.Editors, ", "))
	line("Patch author", d.PatchAuthor)
	var approvals []string
	for _, a := range d.Approvals {
		role := ""
		if a.Officer {
			role = ", officer"
		}
		approvals = append(approvals, fmt.Sprintf("%s by %s%s", a.Kind, a.By, role))
	}
	line("Approvals", strings.Join(approvals, "; "))
	if !rec.PublishAt.IsZero() {
		line("Scheduled", fmt.Sprintf("%s (by %s)", bot.FormatTime(rec.PublishAt, loc), rec.ScheduledBy))
	}
	if !rec.DistrosNotified.IsZero() {
		line("Distros list notified", bot.FormatTime(rec.DistrosNotified, loc))
	}
	if !rec.IsPublished() {
		line("Missing before publication", missingList(d, h.svc.PublicationPolicy()))
	}
	return Reply{Text: t, Confidential: !rec.IsPublished()}, nil
}
