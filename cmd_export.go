package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// cmdExport writes the response-time statistics for yearly reports: one
// row per incident (CSV), or the same with the summary `stats` shows
// (JSON). Times are UTC, RFC 3339; durations in seconds.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, configPath := newFlags("export")
	format := fs.String("format", "csv", "csv (one row per incident) or json (with the summary)")
	since := fs.String("since", "", "only incidents created on or after this `DATE` (YYYY-MM-DD, UTC)")
	sig := fs.String("sig", "", "only this `SIG`")
	if code, done := parseFlags(fs, args, stdout, stderr, exitUsage); done {
		return code
	}
	if fs.NArg() > 0 || (*format != "csv" && *format != "json") {
		usageError(stderr, mustSubcommand("export"))
		return exitUsage
	}
	q := bot.StatsQuery{SIG: *sig}
	if *since != "" {
		t, err := time.Parse(time.DateOnly, *since)
		if err != nil {
			fmt.Fprintf(stderr, "sectriage export: -since %q: write a date as 2026-01-01\n", *since)
			return exitUsage
		}
		q.Since = t
	}
	cfg, ok := loadConfig(*configPath, stderr)
	if !ok {
		return exitUsage
	}
	a, err := openApp(ctx, cfg, discardLogger(), appOptions{platforms: chatPlatforms(cfg)})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	defer a.Close()
	st, err := a.svc.Stats(ctx, bot.SystemActor(), q)
	if err != nil {
		fmt.Fprintln(stderr, "sectriage export:", bot.UserMessage(err))
		return exitFailed
	}
	if *format == "json" {
		err = writeStatsJSON(stdout, st)
	} else {
		err = writeStatsCSV(stdout, st)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sectriage export:", err)
		return exitFailed
	}
	return exitOK
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func writeStatsCSV(w io.Writer, st bot.Stats) error {
	cw := csv.NewWriter(w)
	header := []string{"id", "sig", "severity", "state", "assignee", "created"}
	for _, m := range bot.Measures {
		header = append(header, m+"_at")
	}
	for _, m := range bot.Measures {
		header = append(header, m+"_seconds")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, m := range st.Milestones {
		row := []string{bot.FormatID(m.ID), m.SIG, string(m.Severity), string(m.State), m.Assignee, rfc3339(m.Created)}
		for _, measure := range bot.Measures {
			row = append(row, rfc3339(m.Reached[measure]))
		}
		for _, measure := range bot.Measures {
			if d, ok := m.Took(measure); ok {
				row = append(row, strconv.FormatInt(int64(d/time.Second), 10))
			} else {
				row = append(row, "")
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

type jsonSpread struct {
	Incidents     int   `json:"incidents"`
	MedianSeconds int64 `json:"median_seconds"`
	P90Seconds    int64 `json:"p90_seconds"`
}

type jsonIncident struct {
	ID       string            `json:"id"`
	SIG      string            `json:"sig"`
	Severity string            `json:"severity"`
	State    string            `json:"state"`
	Assignee string            `json:"assignee,omitempty"`
	Created  string            `json:"created"`
	Reached  map[string]string `json:"reached"`
	Seconds  map[string]int64  `json:"seconds"`
}

func writeStatsJSON(w io.Writer, st bot.Stats) error {
	type group struct {
		Name      string                `json:"name"`
		Incidents int                   `json:"incidents"`
		Measures  map[string]jsonSpread `json:"measures"`
	}
	type load struct {
		Person string `json:"person"`
		Open   int    `json:"open"`
	}
	out := struct {
		Since     string         `json:"since,omitempty"`
		Groups    []group        `json:"groups"`
		Load      []load         `json:"open_by_assignee"`
		Incidents []jsonIncident `json:"incidents"`
	}{Since: rfc3339(st.Since), Groups: []group{}, Load: []load{}, Incidents: []jsonIncident{}}
	for _, g := range st.Groups {
		jg := group{Name: g.Name, Incidents: g.Incidents, Measures: map[string]jsonSpread{}}
		for _, m := range bot.Measures {
			s := g.Spreads[m]
			jg.Measures[m] = jsonSpread{Incidents: s.N, MedianSeconds: int64(s.Median / time.Second), P90Seconds: int64(s.P90 / time.Second)}
		}
		out.Groups = append(out.Groups, jg)
	}
	for _, l := range st.Load {
		out.Load = append(out.Load, load{Person: l.Person, Open: l.Open})
	}
	for _, m := range st.Milestones {
		ji := jsonIncident{ID: bot.FormatID(m.ID), SIG: m.SIG, Severity: string(m.Severity), State: string(m.State), Assignee: m.Assignee,
			Created: rfc3339(m.Created), Reached: map[string]string{}, Seconds: map[string]int64{}}
		for _, measure := range bot.Measures {
			if d, ok := m.Took(measure); ok {
				ji.Reached[measure] = rfc3339(m.Reached[measure])
				ji.Seconds[measure] = int64(d / time.Second)
			}
		}
		out.Incidents = append(out.Incidents, ji)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
