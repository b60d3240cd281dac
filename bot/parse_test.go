package bot

import (
	"testing"
	"time"
)

func TestParseIncidentID(t *testing.T) {
	for in, want := range map[string]int64{"42": 42, "#42": 42, "SEC-42": 42, "sec-7": 7, " 3 ": 3} {
		if got, err := ParseIncidentID(in); err != nil || got != want {
			t.Errorf("ParseIncidentID(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "+4", "SEC-", "abc", "#", "4.2", "99999999999999999999", "SEC42"} {
		if _, err := ParseIncidentID(in); err == nil || KindOf(err) != KindInvalid {
			t.Errorf("ParseIncidentID(%q): err = %v, want invalid", in, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"3d": 72 * time.Hour, "12h": 12 * time.Hour, "1w": 168 * time.Hour, "2d12h": 60 * time.Hour,
		"90m": 90 * time.Minute, "45s": 45 * time.Second, "1D": 24 * time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "3", "d", "3x", "0d", "-1d", "1.5d", "3d4", "999999999999w"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
	if got := FormatDuration(49 * time.Hour); got != "2d1h" {
		t.Errorf("FormatDuration(49h) = %q", got)
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"2026-12-01", time.UTC, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-12-01", berlin, time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)},
		{"2026-12-01T15:00", berlin, time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)},
		{"2026-12-01T15:00Z", berlin, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)},
		{"2026-12-01T15:00:00+02:00", time.UTC, time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)},
		{"3d", time.UTC, now.Add(72 * time.Hour)},
		{"now", time.UTC, now},
	} {
		got, err := ParseWhen(tc.in, now, tc.loc)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseWhen(%q, %v) = %v, %v; want %v", tc.in, tc.loc, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "tomorrow", "2026-13-01", "2026-12-01 15:00", "12/01/2026"} {
		if _, err := ParseWhen(in, now, time.UTC); err == nil {
			t.Errorf("ParseWhen(%q) succeeded", in)
		}
	}
}

func TestDeadlines(t *testing.T) {
	p := DefaultDeadlines()
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inc := &Incident{ID: 1, State: StateNew, Severity: SeverityUnknown, Created: created, StateSince: created, LastActivity: created}
	p.Apply(inc)
	if inc.DueKind != DeadlineAcknowledge || !inc.Due.Equal(created.Add(48*time.Hour)) {
		t.Fatalf("new: %s %v", inc.DueKind, inc.Due)
	}
	inc.State, inc.StateSince, inc.Severity = StateFixing, created.Add(time.Hour), SeverityCritical
	inc.LastActivity = created.Add(time.Hour)
	p.Apply(inc)
	if inc.DueKind != DeadlineFix || !inc.Due.Equal(created.Add(time.Hour+7*24*time.Hour)) {
		t.Fatalf("critical fixing: %s %v (fix and stale are both 7d; the tie goes to fix)", inc.DueKind, inc.Due)
	}
	inc.Embargo = created.Add(72 * time.Hour)
	p.Apply(inc)
	if inc.DueKind != DeadlineEmbargo {
		t.Fatalf("embargo sooner than fix: got %s", inc.DueKind)
	}
	inc.Embargo = time.Time{}
	inc.DueOverrides = map[DeadlineKind]time.Time{DeadlineFix: created.Add(2 * time.Hour), DeadlineAcknowledge: created}
	p.Apply(inc)
	if inc.DueKind != DeadlineFix || !inc.Due.Equal(created.Add(2*time.Hour)) {
		t.Fatalf("override: %s %v (the acknowledge override must not apply while fixing)", inc.DueKind, inc.Due)
	}
	inc.State = StateClosed
	p.Apply(inc)
	if !inc.Due.IsZero() {
		t.Fatalf("closed incident has a deadline: %v", inc.Due)
	}
}

func TestTransitionsOnlyLegal(t *testing.T) {
	legal := map[State][]Action{
		StateNew:       {ActionAck, ActionReject, ActionClose},
		StateTriage:    {ActionConfirm, ActionReject, ActionClose},
		StateFixing:    {ActionFixed, ActionDisclose, ActionReject, ActionClose},
		StateDisclosed: {ActionClose},
		StateClosed:    {},
	}
	all := []Action{ActionAck, ActionConfirm, ActionFixed, ActionDisclose, ActionReject, ActionClose}
	for state, ok := range legal {
		for _, a := range all {
			_, err := Target(&Incident{ID: 1, State: state}, a)
			allowed := false
			for _, x := range ok {
				allowed = allowed || x == a
			}
			if (err == nil) != allowed {
				t.Errorf("%s from %s: err = %v, want allowed=%v", a, state, err, allowed)
			}
		}
	}
}

func TestQuietHours(t *testing.T) {
	q, err := ParseQuietHours("22:00-07:00")
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for utcHour, want := range map[int]bool{20: false, 21: true, 3: true, 5: true, 6: false, 12: false} {
		at := time.Date(2026, 11, 23, utcHour, 30, 0, 0, time.UTC) // Berlin is UTC+1 in November
		if got := q.Contains(at, berlin); got != want {
			t.Errorf("%02d:30 UTC quiet in Berlin = %v, want %v", utcHour, got, want)
		}
	}
	if _, err := ParseQuietHours("22-7"); err == nil {
		t.Error("ParseQuietHours(22-7) succeeded")
	}
}

func TestEscapeControl(t *testing.T) {
	for in, want := range map[string]string{
		"plain":         "plain",
		"a\x1b[31mb":    `a\x1b[31mb`,
		"line\r\nnext":  `line\x0d\x0anext`,
		"nul\x00":       `nul\x00`,
		"rtl\u202eevil": `rtl\u202eevil`,
		"bad\xffutf8":   `bad\xffutf8`,
		"tab\tkept":     "tab\tkept",
		"ünïcödé stays": "ünïcödé stays",
	} {
		if got := EscapeControl(in, false); got != want {
			t.Errorf("EscapeControl(%q) = %q, want %q", in, got, want)
		}
	}
}
