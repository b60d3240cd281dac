package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

const hiddenTitle = "(title shown only in private channels)"

func (h *handlers) list(ctx context.Context, req *Request) (Reply, error) {
	var q bot.ListQuery
	label := "open incidents"
	if len(req.Args) == 1 {
		switch strings.ToLower(req.Args[0]) {
		case "open":
		case "mine":
			q.Mine, label = true, "open incidents assigned to you"
		case "overdue":
			q.Overdue, label = true, "overdue incidents"
		case "all":
			q.All, label = true, "incidents"
		default:
			q.SIG = req.Args[0]
		}
	}
	list, total, err := h.svc.List(ctx, req.Actor, q)
	if err != nil {
		return Reply{}, err
	}
	if q.SIG != "" {
		label = "open incidents in SIG " + h.svc.Settings().SIG(q.SIG).Name
	}
	if len(list) == 0 {
		return ok("No %s.", label), nil
	}
	now, loc := h.now().Now(), req.Actor.Location()
	var t bot.Text
	if total == 1 {
		label = strings.Replace(label, "incidents", "incident", 1)
	}
	t.Plain(fmt.Sprintf("%d %s, most urgent first:", total, label))
	rows := make([][]string, len(list))
	for i, inc := range list {
		rows[i] = []string{inc.Name(), stateText(inc), string(inc.Severity), inc.SIG, orDash(inc.Assignee), dueText(inc, now, loc)}
	}
	for i, line := range alignColumns(rows, listWidths) {
		inc := list[i]
		t.Line().Plain(line + " · ")
		if req.Private {
			t.Untrusted(inc.Title)
		} else {
			t.Plain(hiddenTitle)
		}
	}
	if total > len(list) {
		t.Line().Plain(fmt.Sprintf("… and %d more; narrow it down with list mine, list overdue or list <sig>.", total-len(list)))
	}
	return Reply{Text: t, Confidential: req.Private}, nil
}

func (h *handlers) show(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	if len(req.Args) == 2 && !strings.EqualFold(req.Args[1], "discussion") {
		return Reply{}, invalid("show %d or show %d discussion", id, id)
	}
	inc, events, err := h.svc.Timeline(ctx, req.Actor, id)
	if err != nil {
		return Reply{}, err
	}
	if len(req.Args) == 2 {
		return discussion(req, inc, events)
	}
	now, loc := h.now().Now(), req.Actor.Location()
	var t bot.Text
	t.Plain(inc.Name() + ": ")
	if req.Private {
		t.Untrusted(inc.Title)
	} else {
		t.Plain(hiddenTitle)
	}
	t.Line().Plain(fmt.Sprintf("State: %s since %s · Severity: %s", stateText(inc), bot.FormatTime(inc.StateSince, loc), inc.Severity))
	if inc.CVSS != "" {
		t.Plain(fmt.Sprintf(" (%s, base score %.1f)", inc.CVSS, inc.Score))
	}
	claimed := ""
	if inc.Claimed {
		claimed = " (claimed)"
	}
	t.Line().Plain(fmt.Sprintf("SIG: %s · Assignee: %s%s · Manager: %s", inc.SIG, orDash(inc.Assignee), claimed, orDash(inc.Manager)))
	// Who reported it (address, key fingerprint) only where the reply
	// stays within the team.
	t.Line().Plain("Reporter: ")
	switch {
	case !req.Private:
		t.Plain("(shown only in private channels)")
	case inc.Reporter != "":
		t.Untrusted(inc.Reporter)
	default:
		t.Plain(orDash(""))
	}
	if req.Private && inc.ReporterKey != "" {
		t.Plain(" · key " + inc.ReporterKey)
	}
	if inc.Encrypted {
		t.Plain(" · arrived encrypted")
	} else {
		t.Plain(" · arrived UNENCRYPTED")
	}
	cves := "none"
	if len(inc.CVEs) > 0 {
		cves = strings.Join(inc.CVEs, ", ")
	}
	t.Line().Plain(fmt.Sprintf("CVEs: %s · Embargo: %s", cves, when(inc.Embargo, now, loc)))
	t.Line().Plain("Deadline: " + dueText(inc, now, loc))
	if !inc.SnoozedUntil.IsZero() && inc.SnoozedUntil.After(now) {
		t.Line().Plain("Nags snoozed until " + bot.FormatTime(inc.SnoozedUntil, loc))
	}
	t.Line().Plain("Timeline:")
	said := 0
	for _, ev := range events {
		if ev.Kind == bot.EventDiscussion {
			said++
			continue
		}
		t.Line().Plain(fmt.Sprintf("  %s  %s (%s)  %s", bot.FormatTime(ev.At, loc), ev.Actor, ev.Platform, ev.Kind))
		if ev.Details == "" {
			continue
		}
		t.Plain(": ")
		if req.Private {
			t.Untrusted(ev.Details)
		} else if public, ok := bot.PublicDetails(ev); ok {
			t.Untrusted(public)
		} else {
			t.Plain("(shown only in private channels)")
		}
	}
	if said > 0 {
		t.Line().Plain(fmt.Sprintf("Discussion: %d message(s) in its channels; show %d discussion", said, inc.ID))
	}
	reply := Reply{Text: t, Confidential: req.Private}
	switch {
	case !req.Private:
		t.Line().Plain("The report is shown only in private channels and direct messages.")
		reply.Text = t
	case h.reports == nil || inc.ReportID == 0:
		t.Line().Plain("Report: no stored report for this incident.")
		reply.Text = t
	default:
		body, err := h.reports.ReportBody(ctx, inc.ID)
		if err != nil {
			if bot.KindOf(err) == bot.KindInternal {
				return Reply{}, fmt.Errorf("reading the report of %s: %w", inc.Name(), err)
			}
			t.Line().Plain("Report: " + bot.UserMessage(err))
		} else {
			t.Line().Plain("Report:").Line()
			t.Append(body)
		}
		reply.Text = t
	}
	return reply, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// discussion shows what was said in the incident's own channels: team
// talk about the report, so only where only the team reads the answer.
func discussion(req *Request, inc *bot.Incident, events []bot.Event) (Reply, error) {
	if !req.Private {
		return Reply{}, bot.Errorf(bot.KindForbidden, "The discussion of %s is shown only in private channels and direct messages.", inc.Name())
	}
	said := bot.Discussion(events)
	loc := req.Actor.Location()
	var t bot.Text
	if len(said) == 0 {
		t.Plain(fmt.Sprintf("%s: nothing said in its channels yet.", inc.Name()))
		return Reply{Text: t, Confidential: true}, nil
	}
	t.Plain(fmt.Sprintf("%s: discussion (%d message(s)):", inc.Name(), len(said)))
	for _, ev := range said {
		t.Line().Plain(fmt.Sprintf("  %s  %s (%s): ", bot.FormatTime(ev.At, loc), ev.Actor, ev.Platform)).Untrusted(ev.Details)
	}
	return Reply{Text: t, Confidential: true}, nil
}
