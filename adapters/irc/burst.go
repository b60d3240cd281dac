package irc

import (
	"context"
	"fmt"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// Bursts. IRC is paced (Burst lines, then one per PerLine), and every
// line waits for the server's echo: fifty reports with their bodies take
// many minutes, during which the channel shows news that is long stale.
// When what is queued for the channels behind a message would take longer
// than BacklogLimit at that pace, a new incident is posted as one line ("SEC-n [severity, SIG]
// title · show n") instead of the announcement and report body, and the
// first such line says why; once the queue fits again, full posts resume
// and the channel is told. Nothing is dropped: `show n` has the full post.

// Queue lets the adapter see what waits for IRC; *storage.DB is one.
type Queue interface {
	DueMessagesWhere(ctx context.Context, f bot.OutboxFilter, now time.Time, limit int) ([]bot.OutboxMessage, error)
	Incident(ctx context.Context, id int64) (*bot.Incident, error)
}

// backlogPeek bounds how many queued messages are looked at: past it, the
// backlog is long anyway.
const backlogPeek = 500

// backlog estimates how long the channel messages queued for IRC, other
// than m, take to send at the configured pace: what the channel would wait
// for. One long report with nothing behind it is posted in full, and
// private messages (nags) do not count against the channels.
func (a *Adapter) backlog(ctx context.Context, m bot.OutboxMessage) (int, time.Duration, error) {
	msgs, err := a.deps.Queue.DueMessagesWhere(ctx, bot.OutboxFilter{Platforms: []string{bot.PlatformIRC}}, a.now(), backlogPeek)
	if err != nil {
		return 0, 0, err
	}
	lines, n := 0, 0
	for _, q := range msgs {
		if q.ID == m.ID || q.Dest.Channel == "" {
			continue
		}
		n++
		lines += max(a.estimateLines(q)-q.Sent, 0)
	}
	return n, time.Duration(max(lines-a.opts.Burst, 0)) * a.opts.PerLine, nil
}

// estimateLines is how many IRC lines a message takes, a report body
// counted at its cut (MaxBodyLines) without reading it.
func (a *Adapter) estimateLines(m bot.OutboxMessage) int {
	phys, err := layout(renderText(m.Text, func(name string) string { return name }), textBudget(100, "PRIVMSG", "#x"), a.opts.MaxBodyLines, a.pointer(m.IncidentID))
	n := len(phys)
	if err != nil {
		n = 1
	}
	if m.Kind == bot.MessageNewIncident && m.Confidential && a.deps.Reports != nil && a.opts.MaxBodyLines > 0 {
		n += a.opts.MaxBodyLines + 2 // "Report:", the body, the pointer to the rest
	}
	return n
}

// brief decides how a channel message is posted: the full text, or in a
// burst one line for a new incident. It returns the text to send.
func (a *Adapter) brief(ctx context.Context, m bot.OutboxMessage) bot.Text {
	if a.deps.Queue == nil || m.Dest.Person != "" || m.Sent > 0 {
		// A message begun in full goes on in full: its lines were counted.
		return a.compose(ctx, m)
	}
	n, d, err := a.backlog(ctx, m)
	if err != nil {
		a.log.Warn("cannot measure the IRC backlog; posting in full", "err", err)
		return a.compose(ctx, m)
	}
	a.mu.Lock()
	was := a.briefing
	a.briefing = d > a.opts.BacklogLimit
	now := a.briefing
	a.mu.Unlock()
	if !now {
		t := a.compose(ctx, m)
		if was {
			a.log.Info("IRC backlog cleared; full posts again", "queued", n)
			var out bot.Text
			out.Plain("(Caught up: full posts again.)").Line()
			out.Append(t)
			return out
		}
		return t
	}
	if m.Kind != bot.MessageNewIncident || m.IncidentID == 0 {
		return a.compose(ctx, m)
	}
	inc, err := a.deps.Queue.Incident(ctx, m.IncidentID)
	if err != nil {
		a.log.Warn("cannot read the incident for its one-line post; posting in full", "incident", m.IncidentID, "err", err)
		return a.compose(ctx, m)
	}
	var t bot.Text
	if !was {
		a.log.Warn("IRC backlog too long; one line per new incident until it clears", "queued", n, "would_take", d.Round(time.Second))
		t.Plain(fmt.Sprintf("(Busy: %d more messages queued, about %s at the safe pace. One line per new incident until it clears; show <id> has the full post.)",
			n, d.Round(time.Second))).Line()
	}
	t.Append(BriefLine(inc))
	return t
}

// BriefLine is an incident in one line: "SEC-n [severity, SIG] title · show n".
func BriefLine(inc *bot.Incident) bot.Text {
	var t bot.Text
	t.Plain(fmt.Sprintf("%s [%s, %s] ", inc.Name(), inc.Severity, inc.SIG))
	t.Untrusted(inc.Title)
	t.Plain(fmt.Sprintf(" · show %d", inc.ID))
	return t
}
