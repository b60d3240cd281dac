package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// QuarantineDesk is the officers' desk of rejected messages; the intake
// pipeline's bot.QuarantineDesk implements it.
type QuarantineDesk interface {
	List(ctx context.Context, a bot.Actor, rule bot.Rule, limit int) ([]bot.Quarantined, error)
	Show(ctx context.Context, a bot.Actor, rule bot.Rule, id int64) (*bot.QuarantineView, error)
	Release(ctx context.Context, a bot.Actor, rule bot.Rule, id int64) (bot.IntakeResult, error)
	Drop(ctx context.Context, a bot.Actor, rule bot.Rule, id int64, reason string) (*bot.Quarantined, error)
}

var _ QuarantineDesk = (*bot.QuarantineDesk)(nil)

// quarantineListLimit bounds the list: the newest entries matter.
const quarantineListLimit = 30

const quarantineUsage = "quarantine [list] | quarantine show Q-n | quarantine release Q-n | quarantine drop Q-n <reason>"

func (h *handlers) quarantineCommand() Command {
	return Command{Name: "quarantine", Args: "[show|release|drop Q-n] [reason]",
		Summary: "rejected messages: list them, see one's headers, release one into intake again, or drop one",
		Help: "list: newest first, with reason, size, sender and age. show: the headers and the reason, never the content " +
			"(it failed the checks that make it safe). release: runs the stored message through intake again, e.g. after a " +
			"key was added or a limit raised. drop: discards it; dropped entries are deleted after [intake] quarantine_retention.",
		Permission: bot.Officer, MaxArgs: -1, Handler: HandlerFunc(h.quarantine)}
}

func (h *handlers) quarantine(ctx context.Context, req *Request) (Reply, error) {
	if h.quarantineDesk == nil {
		return Reply{}, bot.Errorf(bot.KindInvalid, "No report intake is configured ([keys] team_key_file), so nothing is quarantined.")
	}
	sub := "list"
	if len(req.Args) > 0 {
		sub = strings.ToLower(req.Args[0])
	}
	if sub == "list" {
		if len(req.Args) > 1 {
			return Reply{}, invalid("Usage: %s", quarantineUsage)
		}
		return h.quarantineList(ctx, req)
	}
	if len(req.Args) < 2 {
		return Reply{}, invalid("Usage: %s", quarantineUsage)
	}
	id, err := bot.ParseQuarantineID(req.Args[1])
	if err != nil {
		return Reply{}, err
	}
	switch sub {
	case "show":
		if len(req.Args) != 2 {
			return Reply{}, invalid("Usage: quarantine show Q-n")
		}
		return h.quarantineShow(ctx, req, id)
	case "release":
		if len(req.Args) != 2 {
			return Reply{}, invalid("Usage: quarantine release Q-n")
		}
		res, err := h.quarantineDesk.Release(ctx, req.Actor, req.Rule, id)
		if err != nil {
			return Reply{}, err
		}
		if res.IncidentID != 0 {
			return ok("Released Q-%d: it became %s.", id, bot.FormatID(res.IncidentID)), nil
		}
		return ok("Released Q-%d, but it was rejected again (%s); it stays in quarantine.", id, res.Reason), nil
	case "drop":
		reason := req.Rest(2)
		if reason == "" {
			return Reply{}, invalid("Usage: quarantine drop Q-n <reason>")
		}
		if _, err := h.quarantineDesk.Drop(ctx, req.Actor, req.Rule, id, reason); err != nil {
			return Reply{}, err
		}
		return ok("Dropped Q-%d; its stored copy is deleted after the retention period.", id), nil
	}
	return Reply{}, invalid("Usage: %s", quarantineUsage)
}

func (h *handlers) quarantineList(ctx context.Context, req *Request) (Reply, error) {
	list, err := h.quarantineDesk.List(ctx, req.Actor, req.Rule, quarantineListLimit)
	if err != nil {
		return Reply{}, err
	}
	if len(list) == 0 {
		return ok("The quarantine is empty."), nil
	}
	now := h.now().Now()
	var t bot.Text
	t.Plain(fmt.Sprintf("Quarantine, newest first (at most %d):", quarantineListLimit))
	for _, q := range list {
		t.Line().Plain(fmt.Sprintf("%-6s %-21s %9s  %s ago  from ", q.Name(), q.Reason, sizeText(q.Size), bot.FormatDuration(now.Sub(q.ReceivedAt).Truncate(60e9))))
		senderText(&t, req, q.Sender)
		if d := decisionText(&q); d != "" {
			t.Plain(" · " + d)
		}
	}
	return Reply{Text: t, Confidential: req.Private}, nil
}

func (h *handlers) quarantineShow(ctx context.Context, req *Request, id int64) (Reply, error) {
	v, err := h.quarantineDesk.Show(ctx, req.Actor, req.Rule, id)
	if err != nil {
		return Reply{}, err
	}
	q, loc := &v.Entry, req.Actor.Location()
	var t bot.Text
	t.Plain(fmt.Sprintf("%s: received %s by %s, %s · Reason: %s", q.Name(), bot.FormatTime(q.ReceivedAt, loc), q.Source, sizeText(q.Size), q.Reason))
	if q.Detail != "" {
		t.Plain(" — ").Untrusted(q.Detail)
	}
	t.Line().Plain("From: ")
	senderText(&t, req, q.Sender)
	if q.ReportID != 0 {
		t.Plain(fmt.Sprintf(" · stored report %d", q.ReportID))
	}
	if d := decisionText(q); d != "" {
		t.Line().Plain(upperFirst(d) + ".")
	}
	t.Line().Plain("The content is never shown: it failed the checks that make it safe to read.")
	switch {
	case !req.Private:
		t.Line().Plain("The headers are shown only in private channels and direct messages.")
	case v.HeaderNote != "":
		t.Line().Plain(v.HeaderNote)
	default:
		t.Line().Plain("Headers as received (written by the sender, untrusted):").Line()
		t.Block(v.Header)
		if v.Truncated {
			t.Line().Plain("(cut short)")
		}
	}
	return Reply{Text: t, Confidential: req.Private}, nil
}

// senderText is the claimed sender, where the reply stays within the team.
func senderText(t *bot.Text, req *Request, sender string) {
	switch {
	case !req.Private:
		t.Plain("(shown only in private channels)")
	case sender == "":
		t.Plain("unknown sender")
	default:
		t.Untrusted(sender)
	}
}

// decisionText says what the desk decided about an entry, or "".
func decisionText(q *bot.Quarantined) string {
	switch {
	case !q.DroppedAt.IsZero():
		return fmt.Sprintf("dropped by %s on %s: %s", q.DroppedBy, q.DroppedAt.Format("2006-01-02"), bot.EscapeControl(q.DropReason, false))
	case !q.ReleasedAt.IsZero() && q.IncidentID != 0:
		return fmt.Sprintf("released by %s, became %s", q.ReleasedBy, bot.FormatID(q.IncidentID))
	case !q.ReleasedAt.IsZero():
		return fmt.Sprintf("released by %s, being taken in", q.ReleasedBy)
	}
	return ""
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
