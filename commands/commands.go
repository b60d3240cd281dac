package commands

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sectriage/sectriage/bot"
)

// ReportReader produces a report's decrypted text when it is to be shown
// (never stored in plaintext). The intake pipeline implements it.
type ReportReader interface {
	ReportBody(ctx context.Context, incidentID int64) (bot.Text, error)
}

// Options are the optional parts of the standard command set.
type Options struct {
	Reports ReportReader // nil: `show` has no report body to offer
	Duty    *bot.Duty    // nil: the roster commands say there is no roster
	// Publisher runs publications; nil: publish now and notify distros
	// say publication is not configured.
	Publisher Publisher
	// Quarantine is the desk of rejected messages; nil: no intake.
	Quarantine QuarantineDesk
	// Status holds the reporters' status links; nil: `status revoke` says
	// they are not configured.
	Status bot.StatusStore
}

// handlers holds what the standard commands need.
type handlers struct {
	svc       *bot.Service
	reports   ReportReader
	duty      *bot.Duty
	publisher Publisher
	// quarantineDesk is nil without intake.
	quarantineDesk QuarantineDesk
	status         bot.StatusStore
}

// New builds the registry with every standard command.
func New(svc *bot.Service, log *slog.Logger, opts Options) (*Registry, error) {
	h := &handlers{svc: svc, reports: opts.Reports, duty: opts.Duty, publisher: opts.Publisher, quarantineDesk: opts.Quarantine, status: opts.Status}
	r := NewRegistry(log)
	for _, c := range h.commands(r) {
		if err := r.Add(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (h *handlers) commands(r *Registry) []Command {
	return append([]Command{
		{Name: "help", Args: "[command]", Summary: "list the commands, or explain one", Permission: bot.Member, MaxArgs: 1,
			Handler: HandlerFunc(func(ctx context.Context, req *Request) (Reply, error) { return help(r, req) })},
		{Name: "list", Args: "[open|mine|overdue|all|<sig>]", Summary: "incidents with their deadlines, most urgent first", Permission: bot.Member,
			MaxArgs: 1, Handler: HandlerFunc(h.list)},
		{Name: "stats", Args: "[sig] [since <date|duration>]", Summary: "response times (median, p90) by SIG and severity; open incidents per person", Permission: bot.Member,
			Help:    "Measured from each incident's creation to its first acknowledgement, its triage decision and its fix (disclosed). since 90d is the last 90 days.",
			MaxArgs: -1, Handler: HandlerFunc(h.stats)},
		{Name: "show", Args: "<id> [discussion]", Summary: "details and timeline (the report itself only in private channels)", Permission: bot.Member,
			Help:    "show <id> discussion: what was said in the incident's own channels, on every platform (only in private channels).",
			MinArgs: 1, MaxArgs: 2, Handler: HandlerFunc(h.show)},
		{Name: "claim", Args: "<id>", Summary: "take ownership; acknowledges a new incident", Permission: bot.Member,
			MinArgs: 1, MaxArgs: 1, Handler: HandlerFunc(h.claim)},
		{Name: "unclaim", Args: "<id>", Summary: "give it back to the SIG's on-duty contact", Permission: bot.AssigneeOrOfficer,
			MinArgs: 1, MaxArgs: 1, Handler: HandlerFunc(h.unclaim)},
		{Name: "ack", Aliases: []string{"acknowledge"}, Args: "<id>", Summary: "acknowledge without taking ownership", Permission: bot.Member,
			MinArgs: 1, MaxArgs: 1, Handler: HandlerFunc(h.ack)},
		{Name: "assign", Args: "<id> <person>", Summary: "set the assignee", Permission: bot.LeadOrOfficer,
			MinArgs: 2, MaxArgs: 2, Handler: HandlerFunc(h.assign)},
		{Name: "confirm", Args: "<id> [note]", Summary: "it is a real vulnerability: triage → fixing", Permission: bot.AssigneeOrOfficer,
			MinArgs: 1, MaxArgs: -1, Handler: h.transition(bot.ActionConfirm)},
		{Name: "reject", Args: "<id> [note]", Summary: "not a vulnerability: close as rejected", Permission: bot.AssigneeOrOfficer,
			MinArgs: 1, MaxArgs: -1, Handler: h.transition(bot.ActionReject)},
		{Name: "fixed", Args: "<id> [note]", Summary: "the fix is released: fixing → disclosed", Permission: bot.AssigneeOrOfficer,
			Help:    embargoHelp,
			MinArgs: 1, MaxArgs: -1, Handler: h.transition(bot.ActionFixed)},
		{Name: "disclose", Args: "<id> [advisory]", Summary: "the advisory is published: fixing → disclosed", Permission: bot.AssigneeOrOfficer,
			Help:    embargoHelp,
			MinArgs: 1, MaxArgs: -1, Handler: h.transition(bot.ActionDisclose)},
		{Name: "close", Args: "<id> <reason>", Summary: "close with a reason", Permission: bot.AssigneeOrOfficer,
			Help:    "Reasons: fixed (only once disclosed), rejected, wontfix, duplicate of SEC-n.",
			MinArgs: 2, MaxArgs: -1, Handler: HandlerFunc(h.close)},
		{Name: "state", Args: "<id> <state> [reason]", Summary: "move to a state by name (same rules as the verbs)", Permission: bot.AssigneeOrOfficer,
			MinArgs: 2, MaxArgs: -1, Handler: HandlerFunc(h.state)},
		{Name: "severity", Args: "<id> <level|CVSS vector>", Summary: "set the severity; the fix deadline follows", Permission: bot.Member,
			Help: "Levels: unknown, low, medium, high, critical. A CVSS 3.1 or 4.0 base vector (CVSS:3.1/AV:N/... or CVSS:4.0/AV:N/...) is validated and its score sets the level.", MinArgs: 2, MaxArgs: 2, Handler: HandlerFunc(h.severity)},
		{Name: "cve", Args: "<id> [remove] <CVE-YYYY-NNNN>", Summary: "record a CVE id (or remove one)", Permission: bot.Member,
			MinArgs: 2, MaxArgs: 3, Handler: HandlerFunc(h.cve)},
		{Name: "embargo", Args: "<id> <date|clear>", Summary: "set when the embargo lifts", Permission: bot.AssigneeOrOfficer,
			MinArgs: 2, MaxArgs: 2, Handler: HandlerFunc(h.embargo)},
		{Name: "due", Args: "<id> [deadline] <date|default>", Summary: "override a deadline", Permission: bot.Officer,
			Help:    "Deadlines: acknowledge, triage, fix, stale; without one, the deadline running now. default returns it to the policy.",
			MinArgs: 2, MaxArgs: 3, Handler: HandlerFunc(h.due)},
		{Name: "note", Args: "<id> <text>", Summary: "add a note to the timeline", Permission: bot.Member,
			MinArgs: 2, MaxArgs: -1, Handler: HandlerFunc(h.note)},
		{Name: "route", Args: "<id> <sig>", Summary: "move to another SIG and its on-duty contact", Permission: bot.RouteRule,
			MinArgs: 2, MaxArgs: 2, Handler: HandlerFunc(h.route)},
		{Name: "reply", Args: "<id> <text>", Summary: "mail the reporter (encrypted when their key is known)", Permission: bot.AssigneeOrOfficer,
			MinArgs: 2, MaxArgs: -1, Handler: HandlerFunc(h.reply)},
		{Name: "status", Args: "revoke <id>", Summary: "revoke the reporter's private status links",
			Permission: bot.Officer, MinArgs: 2, MaxArgs: 2, Handler: HandlerFunc(h.statusRevoke)},
		h.quarantineCommand(),
	}, append(h.rosterCommands(), h.advisoryCommands()...)...)
}

func incidentArg(req *Request, i int) (int64, error) {
	return bot.ParseIncidentID(req.Args[i])
}

// now is the service's clock, so the demo's `advance` moves every reply.
func (h *handlers) now() bot.Clock { return h.svc.Clock() }

func invalid(format string, args ...any) error {
	return bot.Errorf(bot.KindInvalid, "%s", fmt.Sprintf(format, args...))
}
