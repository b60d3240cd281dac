package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// stats is `stats [sig] [since <date|duration>]`: response times from the
// timelines, and who holds how many open incidents.
func (h *handlers) stats(ctx context.Context, req *Request) (Reply, error) {
	pos, cl, err := clauses(req.Args, "since")
	if err != nil {
		return Reply{}, err
	}
	if len(pos) > 1 {
		return Reply{}, invalid("Usage: stats [sig] [since <date|duration>]")
	}
	var q bot.StatsQuery
	if len(pos) == 1 {
		q.SIG = pos[0]
	}
	now := h.now().Now()
	if words, ok := cl["since"]; ok {
		if q.Since, err = h.sinceWords(req, words, now); err != nil {
			return Reply{}, err
		}
	}
	st, err := h.svc.Stats(ctx, req.Actor, q)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: StatsText(st, req.Actor.Location())}, nil
}

// sinceWords reads a start: a date, or a duration back from now ("90d").
func (h *handlers) sinceWords(req *Request, words []string, now time.Time) (time.Time, error) {
	if len(words) == 1 {
		if d, err := bot.ParseDuration(words[0]); err == nil {
			return now.Add(-d), nil
		}
	}
	t, err := h.whenWords(req, words)
	if err != nil {
		return time.Time{}, err
	}
	if t.After(now) {
		return time.Time{}, invalid("since %s is in the future.", bot.FormatTime(t, req.Actor.Location()))
	}
	return t, nil
}

// StatsText renders stats as a table: one row per group, median / p90
// (count) per measure, then the open load.
func StatsText(st bot.Stats, loc *time.Location) bot.Text {
	var t bot.Text
	since := "all time"
	if !st.Since.IsZero() {
		since = "since " + bot.FormatTime(st.Since, loc)
	}
	if len(st.Groups) == 0 {
		t.Plain(fmt.Sprintf("No incidents %s.", strings.TrimPrefix(since, "all time")))
		if st.Since.IsZero() {
			t = bot.PlainText("No incidents yet.")
		}
		return t
	}
	t.Plain(fmt.Sprintf("Response times, %s: median / 90th percentile (incidents that got there), from creation.", since))
	rows := [][]string{append([]string{""}, bot.Measures...)}
	rows[0] = append(rows[0], "incidents")
	for _, g := range st.Groups {
		row := []string{g.Name}
		for _, m := range bot.Measures {
			s := g.Spreads[m]
			if s.N == 0 {
				row = append(row, "-")
				continue
			}
			row = append(row, fmt.Sprintf("%s / %s (%d)", roundDuration(s.Median), roundDuration(s.P90), s.N))
		}
		rows = append(rows, append(row, fmt.Sprint(g.Incidents)))
	}
	for _, r := range rows { // two spaces between columns: the cells hold spaces
		for i := range r[:len(r)-1] {
			r[i] += " "
		}
	}
	for _, line := range alignColumns(rows, nil) {
		t.Line().Plain(strings.TrimRight(line, " "))
	}
	var load []string
	for _, l := range st.Load {
		load = append(load, fmt.Sprintf("%s %d", orDash(l.Person), l.Open))
	}
	if len(load) == 0 {
		load = []string{"none open"}
	}
	t.Line().Plain("Open incidents now by assignee: " + strings.Join(load, ", ") + ".")
	return t
}

// roundDuration keeps two units at most: 3d4h, 5h20m, 12m.
func roundDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		d = d.Round(time.Hour)
	case d >= time.Hour:
		d = d.Round(time.Minute)
	default:
		d = d.Round(time.Minute)
	}
	if d == 0 {
		return "0m"
	}
	return bot.FormatDuration(d)
}
