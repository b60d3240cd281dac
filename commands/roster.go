package commands

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

func (h *handlers) rosterCommands() []Command {
	return []Command{
		{Name: "oncall", Args: "[sig] [at <when>]", Summary: "who is on duty now or at a moment, and until when", Permission: bot.Member,
			Help:    "Without a SIG, every SIG and the officers (the incident managers; name them with oncall officers). <when>: 2026-12-24, 2026-12-24 18:00, 3d. Covers, absences and hand-offs are taken into account.",
			MaxArgs: 4, Handler: HandlerFunc(h.oncall)},
		{Name: "cover", Args: "<sig> <person> from <when> until <when>", Summary: "put someone on duty instead of the rotation for a while",
			Help:       "<sig> may be officers, for the incident managers (officers only). Where covers overlap, the newest wins, so a mistake is fixed by covering again. A start in the past means now.",
			Permission: bot.LeadOrOfficer, MinArgs: 4, MaxArgs: 8, Handler: HandlerFunc(h.cover)},
		{Name: "away", Args: "<person> [from <when>] until <when>", Summary: "someone is unavailable: stand-ins take their shifts and incidents",
			Help:       "Their incidents go to the SIG's deputy (managed ones to another officer) when the absence starts. until now ends a current absence.",
			Permission: bot.SelfLeadOrOfficer, MinArgs: 3, MaxArgs: 7, Handler: HandlerFunc(h.away)},
		{Name: "handover", Args: "<sig> <person>", Summary: "pass on the lead of a SIG; complete once they accept",
			Help:       "Both are reminded daily until the new lead runs accept handover. Handing over to the current lead withdraws a pending hand-over.",
			Permission: bot.LeadOrOfficer, MinArgs: 2, MaxArgs: 2, Handler: HandlerFunc(h.handover)},
		{Name: "accept", Args: "handover [sig]", Summary: "accept a hand-over of a SIG's lead to you", Permission: bot.Member,
			MinArgs: 1, MaxArgs: 2, Handler: HandlerFunc(h.accept)},
		{Name: "snooze", Args: "<id> <duration|when|off>", Summary: "mute the nags about an incident for a while", Permission: bot.Member,
			Help:    "For example snooze 42 2d. The longest snooze is set by [escalation] max_snooze. off ends it.",
			MinArgs: 2, MaxArgs: 3, Handler: HandlerFunc(h.snooze)},
		{Name: "roster", Args: "[sig]", Summary: "covers and absences in force or planned, pending hand-overs, latest roster changes", Permission: bot.Member,
			MaxArgs: 1, Handler: HandlerFunc(h.roster)},
	}
}

// noRoster refuses roster commands where no roster was wired in (a
// registry built without Options.Duty).
var noRoster = bot.Errorf(bot.KindConflict, "There is no roster here: this sectriage was started without one.")

var dateOnlyRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// whenWords reads a moment written as one or two words: "2026-12-24",
// "2026-12-24 18:00", "2026-12-24T18:00", "3d", "now".
func (h *handlers) whenWords(req *Request, words []string) (time.Time, error) {
	w := strings.Fields(strings.Join(words, " ")) // a quoted "2026-12-24 18:00" is one word
	switch {
	case len(w) == 1:
		return h.parseWhen(req, w[0])
	case len(w) == 2 && dateOnlyRE.MatchString(w[0]):
		return h.parseWhen(req, w[0]+"T"+w[1])
	case len(w) == 0:
		return time.Time{}, invalid("A time is missing; write e.g. 2026-12-24, \"2026-12-24 18:00\" or 3d.")
	}
	return time.Time{}, invalid("%q is not a time; write e.g. 2026-12-24, \"2026-12-24 18:00\" or 3d.", bot.EscapeControl(strings.Join(words, " "), false))
}

// clauses splits arguments at keywords: "core erin from X until Y" gives
// positional [core erin] and {from: [X], until: [Y]}.
func clauses(args []string, keywords ...string) ([]string, map[string][]string, error) {
	var pos []string
	out := map[string][]string{}
	current := ""
	for _, a := range args {
		if k := strings.ToLower(a); contains(keywords, k) {
			if _, dup := out[k]; dup {
				return nil, nil, invalid("%q appears twice.", k)
			}
			current, out[k] = k, []string{}
			continue
		}
		if current == "" {
			pos = append(pos, a)
		} else {
			out[current] = append(out[current], a)
		}
	}
	return pos, out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (h *handlers) oncall(ctx context.Context, req *Request) (Reply, error) {
	if h.duty == nil {
		return Reply{}, noRoster
	}
	pos, cl, err := clauses(req.Args, "at")
	if err != nil {
		return Reply{}, err
	}
	if len(pos) > 1 {
		return Reply{}, invalid("Usage: oncall [sig] [at <when>]")
	}
	var at time.Time
	if words, ok := cl["at"]; ok {
		if at, err = h.whenWords(req, words); err != nil {
			return Reply{}, err
		}
	}
	team := ""
	if len(pos) == 1 {
		team = pos[0]
	}
	at, lines, err := h.duty.Who(ctx, req.Actor, team, at)
	if err != nil {
		return Reply{}, err
	}
	loc := req.Actor.Location()
	var t bot.Text
	if _, ok := cl["at"]; ok {
		t.Plain("On duty at " + bot.FormatTime(at, loc) + ":")
	} else {
		t.Plain("On duty now (" + bot.FormatTime(at, loc) + "):")
	}
	for _, l := range lines {
		t.Line().Plain("  " + onCallLine(l, loc))
	}
	return Reply{Text: t}, nil
}

// onCallLine is "core: bob (rotation weekly, Mon 09:00 Europe/Berlin) until
// 2026-11-30 08:00 UTC, then erin; lead bob".
func onCallLine(l bot.OnCallLine, loc *time.Location) string {
	var why string
	switch l.Source {
	case bot.SourceRotation:
		why = "rotation " + l.Rotation.String()
	case bot.SourceCover:
		why = fmt.Sprintf("cover set by %s", l.Cover.By)
	case bot.SourceLead:
		why = "the lead; no rotation"
	case bot.SourceOfficer:
		why = "the first officer; no rotation"
	default:
		return l.Team + ": nobody"
	}
	if l.Away != nil {
		why = fmt.Sprintf("standing in for %s, away until %s; %s", l.Base, bot.FormatTime(l.Away.Until, loc), why)
	}
	team := l.Team
	if team == bot.Officers {
		team = "officers (incident manager)"
	}
	s := fmt.Sprintf("%s: %s (%s)", team, orDash(l.Person), why)
	if !l.Change.IsZero() {
		s += fmt.Sprintf(" until %s, then %s", bot.FormatTime(l.Change, loc), orDash(l.Next.Person))
	}
	if l.Team != bot.Officers && (l.Source != bot.SourceLead || l.Away != nil) {
		s += "; lead " + orDash(l.Lead)
	}
	if l.Pending != nil {
		s += fmt.Sprintf("; hand-over of the lead to %s waiting", l.Pending.To)
	}
	return s
}

// period reads "<n words> [from <when>] until <when>": the positional
// words and the period, which starts now unless from is given.
func (h *handlers) period(req *Request, n int, usage string) (pos []string, from, until time.Time, err error) {
	pos, cl, err := clauses(req.Args, "from", "until")
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	if len(pos) != n || cl["until"] == nil {
		return nil, time.Time{}, time.Time{}, invalid("%s", usage)
	}
	from = h.now().Now()
	if words, ok := cl["from"]; ok {
		if from, err = h.whenWords(req, words); err != nil {
			return nil, time.Time{}, time.Time{}, err
		}
	}
	until, err = h.whenWords(req, cl["until"])
	return pos, from, until, err
}

func (h *handlers) cover(ctx context.Context, req *Request) (Reply, error) {
	if h.duty == nil {
		return Reply{}, noRoster
	}
	pos, from, until, err := h.period(req, 2, "Usage: cover <sig> <person> from <when> until <when>")
	if err != nil {
		return Reply{}, err
	}
	o, err := h.duty.Cover(ctx, req.Actor, req.Rule, pos[0], pos[1], from, until)
	if err != nil {
		return Reply{}, err
	}
	loc := req.Actor.Location()
	r := ok("%s covers %s from %s until %s.", o.Person, o.SIG, bot.FormatTime(o.From, loc), bot.FormatTime(o.Until, loc))
	if g := h.svc.Settings().SIG(o.SIG); g != nil && !g.IsMember(o.Person) {
		r.Text.Plain(fmt.Sprintf(" Note: %s is not a member of SIG %s.", o.Person, g.Name))
	}
	overlaps, err := h.duty.OverlappingCovers(ctx, o)
	if err != nil {
		return Reply{}, err
	}
	for _, x := range overlaps {
		r.Text.Plain(fmt.Sprintf(" Warning: this overlaps %s's cover of %s from %s until %s (set by %s); the newest cover wins, so %s is on duty where they overlap.",
			x.Person, x.SIG, bot.FormatTime(x.From, loc), bot.FormatTime(x.Until, loc), x.By, o.Person))
	}
	return r, nil
}

func (h *handlers) away(ctx context.Context, req *Request) (Reply, error) {
	if h.duty == nil {
		return Reply{}, noRoster
	}
	pos, from, until, err := h.period(req, 1, "Usage: away <person> [from <when>] until <when>")
	if err != nil {
		return Reply{}, err
	}
	res, err := h.duty.Away(ctx, req.Actor, req.Rule, pos[0], from, until)
	if err != nil {
		return Reply{}, err
	}
	loc := req.Actor.Location()
	if res.Override == nil {
		return ok("%s is back; the rotation applies again.", res.Person), nil
	}
	o := res.Override
	r := ok("%s is away from %s until %s; stand-ins take their shifts.", o.Person, bot.FormatTime(o.From, loc), bot.FormatTime(o.Until, loc))
	if !res.Started {
		r.Text.Plain(" Their incidents go to stand-ins when the absence starts.")
		return r, nil
	}
	if len(res.Handed) == 0 {
		r.Text.Plain(" They hold no open incidents.")
		return r, nil
	}
	var moved []string
	for _, m := range res.Handed {
		role := "assignee"
		if m.Manager {
			role = "manager"
		}
		moved = append(moved, fmt.Sprintf("%s → %s (%s)", m.Incident.Name(), m.To, role))
	}
	r.Text.Plain(" Handed over: " + strings.Join(moved, ", ") + ".")
	return r, nil
}

func (h *handlers) handover(ctx context.Context, req *Request) (Reply, error) {
	if h.duty == nil {
		return Reply{}, noRoster
	}
	res, err := h.duty.Handover(ctx, req.Actor, req.Rule, req.Args[0], req.Args[1])
	if err != nil {
		return Reply{}, err
	}
	if res.Withdrawn {
		return ok("Withdrew the hand-over of SIG %s to %s; %s stays lead.", res.Replaced.SIG, res.Replaced.To, res.Replaced.From), nil
	}
	hv := res.Handover
	r := ok("Asked %s to take over the lead of SIG %s from %s; it takes effect when they run accept handover %s.", hv.To, hv.SIG, orDash(hv.From), hv.SIG)
	if res.Replaced != nil {
		r.Text.Plain(fmt.Sprintf(" This replaces the hand-over to %s.", res.Replaced.To))
	}
	return r, nil
}

func (h *handlers) accept(ctx context.Context, req *Request) (Reply, error) {
	if h.duty == nil {
		return Reply{}, noRoster
	}
	if !strings.EqualFold(req.Args[0], "handover") {
		return Reply{}, invalid("Usage: accept handover [sig]")
	}
	sig := ""
	if len(req.Args) == 2 {
		sig = req.Args[1]
	}
	hv, err := h.duty.AcceptHandover(ctx, req.Actor, req.Rule, sig)
	if err != nil {
		return Reply{}, err
	}
	return ok("You lead SIG %s now (was %s).", hv.SIG, orDash(hv.From)), nil
}

func (h *handlers) snooze(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	var until time.Time
	if !strings.EqualFold(req.Args[1], "off") {
		if until, err = h.whenWords(req, req.Args[1:]); err != nil {
			return Reply{}, err
		}
	} else if len(req.Args) > 2 {
		return Reply{}, invalid("Usage: snooze <id> <duration|when|off>")
	}
	out, err := h.svc.Snooze(ctx, req.Actor, req.Rule, id, until)
	if err != nil {
		return Reply{}, err
	}
	name := out.Incident.Name()
	switch {
	case until.IsZero() && !out.Changed:
		return same("%s is not snoozed.", name), nil
	case until.IsZero():
		return ok("Nags about %s resume.", name), nil
	}
	return ok("Nags about %s snoozed until %s; %s.", name, bot.FormatTime(until, req.Actor.Location()),
		dueText(out.Incident, h.now().Now(), req.Actor.Location())), nil
}

// historyLimit is how many roster changes `roster` shows.
const historyLimit = 10

func (h *handlers) roster(ctx context.Context, req *Request) (Reply, error) {
	if h.duty == nil {
		return Reply{}, noRoster
	}
	team := ""
	if len(req.Args) == 1 {
		team = req.Args[0]
	}
	v, err := h.duty.View(ctx, req.Actor, team, historyLimit)
	if err != nil {
		return Reply{}, err
	}
	loc := req.Actor.Location()
	var t bot.Text
	if team == "" {
		t.Plain("Roster:")
	} else {
		t.Plain("Roster of " + strings.ToLower(team) + ":")
	}
	if len(v.Overrides) == 0 {
		t.Line().Plain("No covers or absences in force or planned.")
	} else {
		t.Line().Plain("Covers and absences in force or planned:")
		for _, o := range v.Overrides {
			what := o.Person + " away"
			if o.Kind == bot.OverrideCover {
				what = fmt.Sprintf("%s covers %s", o.Person, o.SIG)
			}
			t.Line().Plain(fmt.Sprintf("  %s from %s until %s (set by %s)", what, bot.FormatTime(o.From, loc), bot.FormatTime(o.Until, loc), o.By))
		}
	}
	for _, hv := range v.Pending {
		t.Line().Plain(fmt.Sprintf("Waiting hand-over: SIG %s from %s to %s, asked %s by %s.", hv.SIG, orDash(hv.From), hv.To,
			bot.FormatTime(hv.Requested, loc), hv.By))
	}
	if len(v.History) > 0 {
		t.Line().Plain("Latest changes:")
		for _, ev := range v.History {
			t.Line().Plain(fmt.Sprintf("  %s  %s (%s)  %s: %s", bot.FormatTime(ev.At, loc), ev.Actor, ev.Platform, ev.Kind, ev.Details))
		}
	}
	return Reply{Text: t}, nil
}
