package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// TestExportStats: the timeline's milestones come out one row per
// incident (CSV) and with the summary (JSON).
func TestExportStats(t *testing.T) {
	cfg := writeConfig(t) // SEC-1, just created
	if out, code := runCmd(t, cfg, "bob", "claim", "1"); code != exitOK {
		t.Fatalf("claim: %s", out)
	}
	code, out, errOut := runCLI(t, "", "export", "-config", cfg)
	if code != exitOK {
		t.Fatalf("export: exit %d %s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	if got := strings.Join(rows[0], ","); got != "id,sig,severity,state,assignee,created,acknowledge_at,triage_at,fix_at,acknowledge_seconds,triage_seconds,fix_seconds" {
		t.Errorf("header: %s", got)
	}
	r := rows[1]
	if r[0] != "SEC-1" || r[1] != "core" || r[3] != "triage" || r[4] != "bob" || r[6] == "" || r[7] != "" || r[9] == "" || r[10] != "" {
		t.Errorf("row: %q", r)
	}

	code, out, errOut = runCLI(t, "", "export", "-config", cfg, "-format", "json", "-sig", "core")
	if code != exitOK {
		t.Fatalf("export json: exit %d %s", code, errOut)
	}
	var doc struct {
		Groups []struct {
			Name      string
			Incidents int
			Measures  map[string]struct{ Incidents int }
		}
		Load []struct {
			Person string
			Open   int
		} `json:"open_by_assignee"`
		Incidents []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(doc.Groups) == 0 || doc.Groups[0].Name != "all" || doc.Groups[0].Measures["acknowledge"].Incidents != 1 ||
		len(doc.Load) != 1 || doc.Load[0].Person != "bob" || len(doc.Incidents) != 1 {
		t.Errorf("json: %+v", doc)
	}

	if code, _, errOut := runCLI(t, "", "export", "-config", cfg, "-since", "yesterday"); code != exitUsage || !strings.Contains(errOut, "2026-01-01") {
		t.Errorf("bad -since: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "export", "-config", cfg, "-sig", "marketing"); code != exitFailed || !strings.Contains(errOut, `There is no SIG "marketing"`) {
		t.Errorf("unknown SIG: exit %d %s", code, errOut)
	}
}
