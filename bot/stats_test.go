package bot

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMilestonesFromTheTimeline(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	inc := &Incident{ID: 1, SIG: "core", Severity: SeverityHigh, State: StateClosed, Created: t0}
	events := []Event{
		{Kind: EventCreated, At: at(0)},
		{Kind: EventNote, At: at(1), Details: "new → triage is not a move"},
		{Kind: EventClaimed, At: at(2)},
		{Kind: EventState, At: at(2), Details: "new → triage"},
		{Kind: EventState, At: at(30), Details: "triage → fixing: reproduced"},
		{Kind: EventState, At: at(100), Details: "fixing → disclosed: released in 5.8.1"},
		{Kind: EventState, At: at(120), Details: "disclosed → closed (fixed)"},
	}
	m := MilestonesOf(inc, events)
	for measure, want := range map[string]time.Duration{MeasureAcknowledge: 2 * time.Hour, MeasureTriage: 30 * time.Hour, MeasureFix: 100 * time.Hour} {
		if got, ok := m.Took(measure); !ok || got != want {
			t.Errorf("%s took %v (%v), want %v", measure, got, ok, want)
		}
	}
	// Rejected straight from new: acknowledged and triaged at once, never fixed.
	m = MilestonesOf(inc, []Event{{Kind: EventState, At: at(5), Details: "new → closed (rejected): not a bug"}})
	if d, _ := m.Took(MeasureTriage); d != 5*time.Hour {
		t.Errorf("triage of a rejected incident: %v", d)
	}
	if _, ok := m.Took(MeasureFix); ok {
		t.Error("a rejected incident counts as fixed")
	}
}

func TestSpreadIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 10; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Hour)
	}
	if got, want := spreadOf(ds), (Spread{N: 10, Median: 5 * time.Hour, P90: 9 * time.Hour}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := spreadOf([]time.Duration{time.Minute}); got != (Spread{N: 1, Median: time.Minute, P90: time.Minute}) {
		t.Errorf("one value: %+v", got)
	}
	if got := spreadOf(nil); got != (Spread{}) {
		t.Errorf("none: %+v", got)
	}
}

func TestSummarizeGroups(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	ms := []Milestones{
		{ID: 1, SIG: "web", Severity: SeverityLow, Created: t0, Reached: map[string]time.Time{MeasureAcknowledge: t0.Add(time.Hour)}},
		{ID: 2, SIG: "core", Severity: SeverityHigh, Created: t0, Reached: map[string]time.Time{MeasureAcknowledge: t0.Add(3 * time.Hour)}},
		{ID: 3, SIG: "core", Severity: SeverityHigh, Created: t0, Reached: map[string]time.Time{}},
	}
	st := Summarize(ms)
	var names []string
	for _, g := range st.Groups {
		names = append(names, g.Name)
	}
	if diff := cmp.Diff([]string{"all", "SIG core", "SIG web", "severity high", "severity low"}, names); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if g := st.Groups[1]; g.Incidents != 2 || g.Spreads[MeasureAcknowledge] != (Spread{N: 1, Median: 3 * time.Hour, P90: 3 * time.Hour}) {
		t.Errorf("SIG core: %+v", g)
	}
}
