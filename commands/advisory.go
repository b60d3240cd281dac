package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// Publisher runs publications and the distros pre-notification: the
// files, the signed mail and the encrypted draft are made outside bot.
type Publisher interface {
	// Publish publishes the advisory of id now (or finishes a run that
	// failed half-way) and says what it produced.
	Publish(ctx context.Context, a bot.Actor, rule bot.Rule, id int64) (bot.PublicationReport, error)
	// NotifyDistros sends the draft, encrypted, to the distros list and
	// returns the list's address.
	NotifyDistros(ctx context.Context, a bot.Actor, rule bot.Rule, id int64) (string, error)
}

func (h *handlers) advisoryCommands() []Command {
	return []Command{
		{Name: "advisory", Args: "<id> [set|affected|package|ref|credit …]",
			Summary: "show the advisory draft and what publication still needs, or edit it", Permission: bot.Member,
			Help: "Forms: advisory <id> set <field> <text>; set <field> from <n> (message n of advisory <id> discussion, which lists the incident's discussion numbered, in private channels only); affected <product> <range>; package <product> <ecosystem> <name> [repo]; ref <type> <url>; credit <type> <name>. " +
				"Fields: " + strings.Join(bot.AdvisoryFields, ", ") + ". Ranges: [branch:] introduced..fixed (1.4: 1.4.0..1.4.3, ..2.1.0, 1.5.0..). " +
				"Reference types: the CVE tags (patch, release-notes, vendor-advisory, …). Credit types: " + strings.Join(bot.CreditTypes, ", ") +
				"; credit only people who agreed to be named, with the name they chose. Text with an apostrophe goes in double quotes: set summary \"the parser's buffer\". Every edit withdraws the approvals given so far.",
			MinArgs: 1, MaxArgs: -1, Handler: HandlerFunc(h.advisory)},
		{Name: "approve", Args: "<id> [text|patch]", Summary: "approve the advisory's text, its patch, or both", Permission: bot.Member,
			Help:    "Nobody approves their own work: editors of the draft do not approve its text, the patch's author not the patch.",
			MinArgs: 1, MaxArgs: 2, Handler: HandlerFunc(h.approve)},
		{Name: "publish", Args: "<id> now | <id> at [when]", Summary: "publish the advisory now, or schedule it (default: when the embargo ends)", Permission: bot.Officer,
			Help:    "Refused, with the reason, while approvals, a fixed version, a patch reference or a required CVE id are missing. Publishing writes the CVE and OSV records and the pages, mails the announcement to the lists, tells the reporter and moves the incident to disclosed; run it again to finish a publication that failed half-way.",
			MinArgs: 2, MaxArgs: -1, Handler: HandlerFunc(h.publish)},
		{Name: "notify", Args: "distros <id>", Summary: "send the advisory draft, encrypted, to the distros list", Permission: bot.AssigneeOrOfficer,
			Help:    "Only when the embargo ends within 14 days (the list's maximum). At publication the list's policy requires posting to oss-security.",
			MinArgs: 2, MaxArgs: 2, Handler: HandlerFunc(h.notifyDistros)},
	}
}

func (h *handlers) advisory(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	if len(req.Args) == 1 {
		return h.showAdvisory(ctx, req, id)
	}
	if len(req.Args) == 2 && strings.EqualFold(req.Args[1], "discussion") {
		return h.advisoryDiscussion(ctx, req, id)
	}
	sub := strings.ToLower(req.Args[1])
	need := func(n int, usage string) error {
		if len(req.Args) < n {
			return invalid("Usage: advisory %d %s", id, usage)
		}
		return nil
	}
	var what string
	var change func(*bot.Advisory) error
	switch sub {
	case "set":
		if err := need(3, "set <field> <text> (an empty text clears it)"); err != nil {
			return Reply{}, err
		}
		field, text := strings.ToLower(req.Args[2]), req.Rest(3)
		what = "set " + field
		if f, n, quoted := quotedField(req); quoted {
			if text, err = h.discussionMessage(ctx, req, id, n); err != nil {
				return Reply{}, err
			}
			field, what = f, fmt.Sprintf("set %s from discussion message %d", f, n)
		}
		change = func(a *bot.Advisory) error { return a.Set(field, text) }
	case "affected":
		if err := need(4, "affected <product> <range>, e.g. affected libexample 1.4: 1.4.0..1.4.3"); err != nil {
			return Reply{}, err
		}
		r, err := bot.ParseVersionRange(req.Rest(3))
		if err != nil {
			return Reply{}, err
		}
		what, change = "affected "+req.Args[2]+" "+r.String(), func(a *bot.Advisory) error { return a.AddAffected(req.Args[2], r) }
	case "package":
		if err := need(5, "package <product> <ecosystem> <name> [repo]"); err != nil {
			return Reply{}, err
		}
		repo := ""
		if len(req.Args) > 5 {
			repo = req.Args[5]
		}
		what = "package " + req.Args[2]
		change = func(a *bot.Advisory) error { return a.SetPackage(req.Args[2], req.Args[3], req.Args[4], repo) }
	case "ref", "reference":
		if err := need(4, "ref <type> <url>"); err != nil {
			return Reply{}, err
		}
		what, change = "ref "+strings.ToLower(req.Args[2]), func(a *bot.Advisory) error { return a.AddReference(req.Args[2], req.Args[3]) }
	case "credit":
		if err := need(4, "credit <type> <name as they chose it>"); err != nil {
			return Reply{}, err
		}
		c := bot.Credit{Type: strings.ToLower(req.Args[2]), Name: req.Rest(3), Consent: true}
		what, change = "credit "+c.Type, func(a *bot.Advisory) error { return a.AddCredit(c) }
	case "edit":
		// On Mattermost the adapter opens its dialog before this runs.
		return Reply{}, invalid("The edit dialog is Mattermost's; here use advisory %d set <field> <text>.", id)
	default:
		return Reply{}, invalid("Unknown advisory change %q; use discussion, set, affected, package, ref or credit.", bot.EscapeControl(req.Args[1], false))
	}
	out, err := h.svc.EditAdvisory(ctx, req.Actor, req.Rule, id, what, change)
	if err != nil {
		return Reply{}, err
	}
	name := bot.FormatID(id)
	if !out.Changed {
		return same("%s's advisory already says that.", name), nil
	}
	text := fmt.Sprintf("%s's advisory: %s.", name, what)
	if len(out.Reset) > 0 {
		text += fmt.Sprintf(" The %d approval(s) given before are withdrawn: the text changed.", len(out.Reset))
	}
	// The change names products and versions of an embargoed issue:
	// only a private place hears which.
	if !req.Private && !out.Record.IsPublished() {
		text = fmt.Sprintf("%s's advisory changed (what, only in private channels).", name)
		if len(out.Reset) > 0 {
			text += fmt.Sprintf(" The %d approval(s) given before are withdrawn.", len(out.Reset))
		}
	}
	reply := ok("%s Missing: %s.", text, missingList(out.Record.Draft, h.svc.PublicationPolicy()))
	reply.Confidential = req.Private && !out.Record.IsPublished()
	return reply, nil
}

func missingList(d bot.Advisory, p bot.PublicationPolicy) string {
	m := d.Missing(p)
	if len(m) == 0 {
		return "nothing; ready to publish"
	}
	return strings.Join(m, "; ")
}

func (h *handlers) approve(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	var kind bot.ReviewKind
	if len(req.Args) > 1 {
		kind = bot.ReviewKind(strings.ToLower(req.Args[1]))
	}
	out, err := h.svc.ApproveAdvisory(ctx, req.Actor, req.Rule, id, kind)
	if err != nil {
		return Reply{}, err
	}
	kinds := make([]string, len(out.Approved))
	for i, k := range out.Approved {
		kinds[i] = string(k)
	}
	return ok("You approved %s's advisory (%s). Missing: %s.", bot.FormatID(id), strings.Join(kinds, " and "),
		missingList(out.Record.Draft, h.svc.PublicationPolicy())), nil
}

func (h *handlers) publish(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	name := bot.FormatID(id)
	switch strings.ToLower(req.Args[1]) {
	case "now":
		if len(req.Args) > 2 {
			return Reply{}, invalid("Usage: publish %d now", id)
		}
		if h.publisher == nil {
			return Reply{}, invalid("Publication is not configured: set [publication] in the configuration.")
		}
		rep, err := h.publisher.Publish(ctx, req.Actor, req.Rule, id)
		if err != nil {
			return Reply{}, err
		}
		return ok("%s", publicationText(name, rep)), nil
	case "at":
		if h.publisher == nil {
			return Reply{}, invalid("Publication is not configured: set [publication] in the configuration.")
		}
		var at time.Time // zero: when the embargo ends
		if when := req.Rest(2); when != "" {
			if at, err = bot.ParseWhen(when, h.now().Now(), req.Actor.Location()); err != nil {
				return Reply{}, invalid("%s", err.Error())
			}
		}
		out, err := h.svc.ScheduleAdvisory(ctx, req.Actor, req.Rule, id, at)
		if err != nil {
			return Reply{}, err
		}
		loc := req.Actor.Location()
		if !out.Changed {
			return same("%s's advisory is already scheduled for %s.", name, bot.FormatTime(out.Record.PublishAt, loc)), nil
		}
		return ok("%s's advisory will be published at %s; the incident manager (%s) is reminded 24 h and 1 h before. Missing now: %s.",
			name, bot.FormatTime(out.Record.PublishAt, loc), orNobody(out.Incident.Manager), missingList(out.Record.Draft, h.svc.PublicationPolicy())), nil
	}
	return Reply{}, invalid("Usage: publish %d now, or publish %d at [when]", id, id)
}

// publicationText says what a publication run produced and what failed.
func publicationText(name string, rep bot.PublicationReport) string {
	var b strings.Builder
	if rep.Published {
		fmt.Fprintf(&b, "%s's advisory is published as %s; the incident is disclosed.", name, rep.Advisory.ID)
		if rep.ReporterTold {
			b.WriteString(" The reporter is mailed the link and their credit.")
		} else {
			b.WriteString(" The reporter is not mailed (no outgoing mail server or no reporter address): tell them yourself.")
		}
	} else {
		fmt.Fprintf(&b, "%s's advisory %s was already published; its outputs were made again.", name, rep.Advisory.ID)
	}
	if rep.Dir != "" && len(rep.Files) > 0 {
		fmt.Fprintf(&b, " Wrote %d files to %s: %s.", len(rep.Files), rep.Dir, strings.Join(rep.Files, ", "))
	}
	if len(rep.Announced) > 0 {
		fmt.Fprintf(&b, " Announced to %s.", strings.Join(rep.Announced, ", "))
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(&b, " Failed: %s. Fix it and run publish %s now again.", strings.Join(rep.Problems, "; "), strings.TrimPrefix(name, "SEC-"))
	}
	return b.String()
}

func (h *handlers) notifyDistros(ctx context.Context, req *Request) (Reply, error) {
	if !strings.EqualFold(req.Args[0], "distros") {
		return Reply{}, invalid("Usage: notify distros <id>")
	}
	id, err := incidentArg(req, 1)
	if err != nil {
		return Reply{}, err
	}
	if h.publisher == nil {
		return Reply{}, invalid("Publication is not configured: set [publication] in the configuration.")
	}
	list, err := h.publisher.NotifyDistros(ctx, req.Actor, req.Rule, id)
	if err != nil {
		return Reply{}, err
	}
	return ok("Sent %s's advisory draft, encrypted, to %s. At publication, post the advisory to oss-security as the list's policy requires.", bot.FormatID(id), list), nil
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}
