package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestFamilies(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	src := func(ctx context.Context, at time.Time) (Snapshot, error) {
		return Snapshot{
			ReportsBySource:         map[string]int{"pipe": 3, "demo": 1},
			ReportsDecrypted:        2,
			OutboxHeldByPlatform:    map[string]int{"mattermost": 3},
			QuarantinedByReason:     map[string]int{"wrong-key": 1},
			IncidentsByState:        map[string]int{"new": 2},
			Overdue:                 1,
			NagsByStep:              map[string]int{"assignee": 4, "officers": 1},
			OutboxPendingByPlatform: map[string]int{"irc": 4, "mattermost": 1}, Platforms: []string{"irc", "mattermost", "email"}, OutboxOldest: at.Add(-90 * time.Second), OutboxDead: 2,
		}, nil
	}
	m := New(Options{Version: "v1.2.3", Source: src, Now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))
	m.ObserveDelivery(bot.OutboxMessage{Dest: bot.Destination{Platform: "irc"}}, nil)
	m.ObserveDelivery(bot.OutboxMessage{Dest: bot.Destination{Platform: "irc"}}, errors.New("down"))
	m.ObserveDelivery(bot.OutboxMessage{Dest: bot.Destination{Platform: "mattermost"}}, bot.Permanent(errors.New("public")))
	m.ObserveCommand("irc", false, "", 3*time.Millisecond)
	m.ObserveCommand("mattermost", true, bot.KindNotFound, time.Millisecond)
	m.ObserveReload(false, now)
	m.ObserveAcknowledgementNotSent("refused")
	up := true
	m.WatchAdapter("irc", func() bool { return up })
	m.WatchAdapter("imap", func() bool { return false })

	out := scrape(t, m)
	for _, want := range []string{
		`sectriage_reports_received_total{source="pipe"} 3`,
		`sectriage_reports_received_total{source="imap"} 0`,
		`sectriage_reports_received_total{source="demo"} 1`,
		`sectriage_reports_decrypted_total 2`,
		`sectriage_reports_quarantined_total{reason="wrong-key"} 1`,
		`sectriage_reports_quarantined_total{reason="integrity-failed"} 0`,
		`sectriage_incidents{state="new"} 2`,
		`sectriage_incidents{state="closed"} 0`,
		`sectriage_incidents_overdue 1`,
		`sectriage_nags_sent_total{step="assignee"} 4`,
		`sectriage_nags_sent_total{step="reminder"} 0`,
		`sectriage_escalations_sent_total{step="officers"} 1`,
		`sectriage_escalations_sent_total{step="deputy"} 0`,
		`sectriage_outbox_pending_messages{platform="irc"} 4`,
		`sectriage_outbox_pending_messages{platform="mattermost"} 1`,
		`sectriage_outbox_pending_messages{platform="email"} 0`,
		`sectriage_outbox_oldest_pending_age_seconds 90`,
		`sectriage_outbox_dead_messages 2`,
		`sectriage_outbox_held_messages{platform="mattermost"} 3`,
		`sectriage_outbox_held_messages{platform="irc"} 0`,
		`sectriage_deliveries_total{adapter="irc"} 1`,
		`sectriage_delivery_failures_total{adapter="irc",final="false"} 1`,
		`sectriage_delivery_failures_total{adapter="mattermost",final="true"} 1`,
		`sectriage_commands_total{outcome="ok",platform="irc"} 1`,
		`sectriage_commands_total{outcome="not_found",platform="mattermost"} 1`,
		`sectriage_command_duration_seconds_bucket{platform="irc",le="0.005"} 1`,
		`sectriage_config_reloads_total{result="refused"} 1`,
		`sectriage_acknowledgements_not_sent_total{reason="refused"} 1`,
		`sectriage_acknowledgements_not_sent_total{reason="capped"} 0`,
		fmt.Sprintf(`sectriage_config_last_reload_success_timestamp_seconds %g`, float64(now.Unix())),
		`sectriage_adapter_connected{adapter="irc"} 1`,
		`sectriage_adapter_connected{adapter="imap"} 0`,
		`sectriage_build_info{version="v1.2.3"} 1`,
		`sectriage_database_up 1`,
		`# TYPE sectriage_reports_received_total counter`,
		`# TYPE sectriage_incidents gauge`,
		`process_resident_memory_bytes`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	// No series may name what a confidential incident is about.
	if strings.Contains(out, "sig=") {
		t.Errorf("a series is labelled by SIG:\n%s", out)
	}
	if t.Failed() {
		t.Log(out)
	}
}

// TestDatabaseDown: a scrape while the database cannot be read still
// serves the in-process families and says the database is down.
func TestDatabaseDown(t *testing.T) {
	src := func(ctx context.Context, at time.Time) (Snapshot, error) {
		return Snapshot{}, errors.New("database is locked")
	}
	m := New(Options{Source: src}, slog.New(slog.DiscardHandler))
	m.ObserveCommand("irc", false, "", time.Millisecond)
	out := scrape(t, m)
	if !strings.Contains(out, "sectriage_database_up 0") || !strings.Contains(out, `sectriage_commands_total{outcome="ok",platform="irc"} 1`) {
		t.Fatal(out)
	}
}

// TestRegistriesAreIndependent: two Metrics (two daemons in one test
// binary) share nothing.
func TestRegistriesAreIndependent(t *testing.T) {
	a := New(Options{}, slog.New(slog.DiscardHandler))
	b := New(Options{}, slog.New(slog.DiscardHandler))
	a.ObserveCommand("irc", false, "", time.Millisecond)
	if strings.Contains(scrape(t, b), "sectriage_commands_total{") {
		t.Fatal("a command counted in one registry shows in another")
	}
}
