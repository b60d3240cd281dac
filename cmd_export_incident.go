package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// exportIncident writes one incident's whole record, decrypted, for the
// team: the incident, its report and follow-ups, its timeline with the
// discussion, and its advisory draft. It runs on the server, by someone
// holding the config and the team key, like cmd; the timeline records
// that it was exported, by which operating-system user and where to. A
// file is created 0600 whatever the umask, and never over an existing
// one: an export is the one place the record leaves the database in the
// clear.
func exportIncident(ctx context.Context, a *app, id int64, format, outPath string, stdout io.Writer) (err error) {
	w, to := stdout, "standard output"
	if outPath != "" {
		f, err := os.OpenFile(outPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s exists; choose a new file (an export never overwrites one)", outPath)
			}
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(outPath)
			}
		}()
		w, to = f, outPath
	}
	rec, err := a.svc.ExportIncident(ctx, id, "OS user "+osUser(), to)
	if err != nil {
		return errors.New(bot.UserMessage(err))
	}
	report, err := reportText(ctx, a, id)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeIncidentJSON(w, rec, report)
	}
	_, err = io.WriteString(w, incidentText(rec, report))
	return err
}

// osUser names who runs the export, for the timeline.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid " + strconv.Itoa(os.Getuid())
}

// reportText is the decrypted report with its follow-ups, as show renders
// them in a private channel; a note when there is none or it cannot be
// read any more.
func reportText(ctx context.Context, a *app, id int64) (string, error) {
	body, err := a.intake.intake.ReportBody(ctx, id)
	if err == nil {
		return bot.RenderPlain(body), nil
	}
	if k := bot.KindOf(err); k == bot.KindNotFound || k == bot.KindInvalid {
		return "(" + bot.UserMessage(err) + ")", nil
	}
	return "", err
}

type jsonEvent struct {
	At       string `json:"at"`
	Actor    string `json:"actor"`
	Platform string `json:"platform"`
	Kind     string `json:"kind"`
	Details  string `json:"details,omitempty"`
}

type jsonSaid struct {
	N        int    `json:"n"` // as `advisory <id> discussion` numbers it
	At       string `json:"at"`
	Actor    string `json:"actor"`
	Platform string `json:"platform"`
	Text     string `json:"text"`
}

func writeIncidentJSON(w io.Writer, rec bot.IncidentRecord, report string) error {
	inc, d := rec.Incident, rec.Advisory.Draft
	type approval struct {
		By      string `json:"by"`
		Kind    string `json:"kind"`
		Officer bool   `json:"officer"`
		At      string `json:"at"`
	}
	type affected struct {
		Product   string   `json:"product"`
		Ecosystem string   `json:"ecosystem,omitempty"`
		Package   string   `json:"package,omitempty"`
		Repo      string   `json:"repo,omitempty"`
		Ranges    []string `json:"ranges"`
	}
	type typed struct {
		Type  string `json:"type"`
		Value string `json:"value"` // the URL, or the name credited
	}
	type advisory struct {
		Stored      bool       `json:"stored"`
		ID          string     `json:"id,omitempty"`
		Published   string     `json:"published,omitempty"`
		PublishAt   string     `json:"publish_at,omitempty"`
		Title       string     `json:"title"`
		Summary     string     `json:"summary"`
		Description string     `json:"description"`
		Workarounds string     `json:"workarounds,omitempty"`
		Affected    []affected `json:"affected"`
		FixedIn     []string   `json:"fixed_in"`
		Severity    string     `json:"severity"`
		CVSS        string     `json:"cvss,omitempty"`
		CWEs        []string   `json:"cwes"`
		CVEs        []string   `json:"cves"`
		References  []typed    `json:"references"`
		Credits     []typed    `json:"credits"`
		Editors     []string   `json:"editors"`
		PatchAuthor string     `json:"patch_author,omitempty"`
		Approvals   []approval `json:"approvals"`
	}
	out := struct {
		ID          string      `json:"id"`
		Title       string      `json:"title"`
		SIG         string      `json:"sig"`
		Severity    string      `json:"severity"`
		CVSS        string      `json:"cvss,omitempty"`
		State       string      `json:"state"`
		CloseReason string      `json:"close_reason,omitempty"`
		Assignee    string      `json:"assignee,omitempty"`
		Manager     string      `json:"manager,omitempty"`
		Reporter    string      `json:"reporter,omitempty"`
		ReporterKey string      `json:"reporter_key,omitempty"`
		CVEs        []string    `json:"cves"`
		Embargo     string      `json:"embargo,omitempty"`
		Created     string      `json:"created"`
		Report      string      `json:"report"`
		Timeline    []jsonEvent `json:"timeline"`
		Discussion  []jsonSaid  `json:"discussion"`
		Advisory    advisory    `json:"advisory"`
	}{
		ID: inc.Name(), Title: inc.Title, SIG: inc.SIG, Severity: string(inc.Severity), CVSS: inc.CVSS, State: string(inc.State),
		CloseReason: inc.CloseReason, Assignee: inc.Assignee, Manager: inc.Manager, Reporter: inc.Reporter, ReporterKey: inc.ReporterKey,
		CVEs: nonNil(inc.CVEs), Embargo: rfc3339(inc.Embargo), Created: rfc3339(inc.Created), Report: report,
		Timeline: []jsonEvent{}, Discussion: []jsonSaid{},
		Advisory: advisory{Stored: rec.Advisory.Stored, ID: d.ID, Published: rfc3339(d.Published), PublishAt: rfc3339(rec.Advisory.PublishAt),
			Title: d.Title, Summary: d.Summary, Description: d.Description, Workarounds: d.Workarounds,
			Affected: []affected{}, FixedIn: nonNil(d.FixedVersions()), Severity: string(d.Severity), CVSS: d.CVSS,
			CWEs: nonNil(d.CWEs), CVEs: nonNil(d.CVEs), References: []typed{}, Credits: []typed{},
			Editors: nonNil(d.Editors), PatchAuthor: d.PatchAuthor, Approvals: []approval{}},
	}
	for _, ev := range rec.Events {
		out.Timeline = append(out.Timeline, jsonEvent{At: rfc3339(ev.At), Actor: ev.Actor, Platform: ev.Platform, Kind: ev.Kind, Details: ev.Details})
	}
	for i, ev := range bot.Discussion(rec.Events) {
		out.Discussion = append(out.Discussion, jsonSaid{N: i + 1, At: rfc3339(ev.At), Actor: ev.Actor, Platform: ev.Platform, Text: ev.Details})
	}
	for _, p := range d.Affected {
		af := affected{Product: p.Product, Ecosystem: p.Ecosystem, Package: p.Package, Repo: p.Repo, Ranges: []string{}}
		for _, r := range p.Ranges {
			af.Ranges = append(af.Ranges, r.String())
		}
		out.Advisory.Affected = append(out.Advisory.Affected, af)
	}
	for _, r := range d.References {
		out.Advisory.References = append(out.Advisory.References, typed{Type: r.Type, Value: r.URL})
	}
	for _, c := range d.Credits {
		out.Advisory.Credits = append(out.Advisory.Credits, typed{Type: c.Type, Value: c.Name})
	}
	for _, ap := range d.Approvals {
		out.Advisory.Approvals = append(out.Advisory.Approvals, approval{By: ap.By, Kind: string(ap.Kind), Officer: ap.Officer, At: rfc3339(ap.At)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// nonNil makes an empty list [] rather than null in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// incidentText is the record for reading: times in UTC, every section
// headed, the discussion numbered as `advisory <id> discussion` numbers it.
func incidentText(rec bot.IncidentRecord, report string) string {
	inc, d := rec.Incident, rec.Advisory.Draft
	var b strings.Builder
	line := func(label, value string) {
		if value == "" {
			value = "-"
		}
		fmt.Fprintf(&b, "%s: %s\n", label, block(value))
	}
	utc := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(&b, "%s: %s\n", inc.Name(), bot.EscapeControl(inc.Title, false))
	line("State", strings.TrimSpace(string(inc.State)+" "+inc.CloseReason))
	line("SIG", inc.SIG)
	line("Severity", strings.TrimSpace(string(inc.Severity)+" "+inc.CVSS))
	line("Assignee", inc.Assignee)
	line("Manager", inc.Manager)
	line("Reporter", strings.TrimSpace(inc.Reporter+" "+inc.ReporterKey))
	line("CVEs", strings.Join(inc.CVEs, ", "))
	line("Embargo", utc(inc.Embargo))
	line("Created", utc(inc.Created))
	b.WriteString("\n== Report and follow-ups\n" + strings.TrimRight(report, "\n") + "\n")
	b.WriteString("\n== Timeline\n")
	for _, ev := range rec.Events {
		fmt.Fprintf(&b, "%s  %s (%s)  %s: %s\n", utc(ev.At), ev.Actor, ev.Platform, ev.Kind, block(ev.Details))
	}
	b.WriteString("\n== Discussion\n")
	for i, ev := range bot.Discussion(rec.Events) {
		fmt.Fprintf(&b, "%d. %s  %s (%s): %s\n", i+1, utc(ev.At), ev.Actor, ev.Platform, block(ev.Details))
	}
	status := "draft, not published"
	if rec.Advisory.IsPublished() {
		status = "published as " + d.ID + " on " + utc(d.Published)
	}
	b.WriteString("\n== Advisory (" + status + ")\n")
	line("Title", d.Title)
	line("Summary", d.Summary)
	line("Description", d.Description)
	line("Workarounds", d.Workarounds)
	var affected []string
	for _, p := range d.Affected {
		var ranges []string
		for _, r := range p.Ranges {
			ranges = append(ranges, r.String())
		}
		affected = append(affected, p.Product+" "+strings.Join(ranges, ", "))
	}
	line("Affected", strings.Join(affected, "; "))
	line("Fixed in", strings.Join(d.FixedVersions(), ", "))
	line("Severity", strings.TrimSpace(string(d.Severity)+" "+d.CVSS))
	line("CWE", strings.Join(d.CWEs, ", "))
	line("CVE", strings.Join(d.CVEs, ", "))
	var refs, credits, approvals []string
	for _, r := range d.References {
		refs = append(refs, r.Type+" "+r.URL)
	}
	for _, c := range d.Credits {
		credits = append(credits, c.Name+" ("+c.Type+")")
	}
	for _, ap := range d.Approvals {
		approvals = append(approvals, fmt.Sprintf("%s (%s, %s)", ap.By, ap.Kind, utc(ap.At)))
	}
	line("References", strings.Join(refs, "; "))
	line("Credits", strings.Join(credits, "; "))
	line("Edited by", strings.Join(d.Editors, ", "))
	line("Patch author", d.PatchAuthor)
	line("Approvals", strings.Join(approvals, "; "))
	return b.String()
}

// block is team- or reporter-written text for the text export: control
// characters made visible (a terminal showing the file runs none), and
// every further line indented so each entry still starts a line.
func block(s string) string {
	return strings.ReplaceAll(bot.EscapeControl(strings.TrimRight(s, "\n"), true), "\n", "\n    ")
}
