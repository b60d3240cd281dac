package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/teamkey"
)

// series reads a Prometheus text exposition into series → value.
func series(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func postReport(t *testing.T, base string, fields map[string]string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(fields)
	resp, err := http.Post(base+"/report", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestMetricsAfterReport is `curl /metrics` on a running daemon after a
// report went through: an encrypted report posted to the form becomes an
// incident posted in the IRC channel and claimed there, a damaged one is
// quarantined, and every family shows it.
func TestMetricsAfterReport(t *testing.T) {
	t.Parallel()
	d := startOpsDaemon(t, defaultSecrets, opsPeople, "")
	armored, err := teamkey.EncryptTo([]byte("Subject: x\n\nThe parser overflows its heap on a long header.\n"), d.key.Entity(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, out := postReport(t, d.base, map[string]string{"email": "r@example.net", "subject": "Heap overflow in the parser",
		"body": string(armored)}); code != http.StatusCreated || out["incident"] != "SEC-1" {
		t.Fatalf("encrypted report: %d %v\n%s", code, out, d.log.String())
	}
	if code, out := postReport(t, d.base, map[string]string{"email": "r@example.net", "subject": "Broken",
		"body": "-----BEGIN PGP MESSAGE-----\n\nnot base64 at all !!!\n-----END PGP MESSAGE-----\n"}); code != http.StatusAccepted {
		t.Fatalf("damaged report: %d %v", code, out)
	}
	d.bob.Expect(t, 20*time.Second, fromBot("PRIVMSG", "New incident SEC-1"))
	d.bob.Privmsg("#sec", "!claim 1")
	d.bob.Expect(t, 10*time.Second, fromBot("NOTICE", "bob: You claimed SEC-1"))

	// Deliveries are counted when the worker has recorded them: wait for
	// the claim notice's delivery to be counted too.
	var got map[string]float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := d.get("/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics: %d %s", code, body)
		}
		got = series(t, body)
		if got[`sectriage_outbox_pending_messages{platform="irc"}`] == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling the outbox drain
	}
	quarantined := 0.0
	for k, v := range got {
		if strings.HasPrefix(k, "sectriage_reports_quarantined_total{") {
			quarantined += v
		}
	}
	if quarantined != 1 {
		t.Errorf("quarantined in all: %v", quarantined)
	}
	for name, check := range map[string]func(float64) bool{
		`sectriage_reports_received_total{source="web"}`:                 eq(2),
		`sectriage_reports_received_total{source="imap"}`:                eq(0),
		`sectriage_reports_decrypted_total`:                              eq(1),
		`sectriage_incidents{state="triage"}`:                            eq(1),
		`sectriage_incidents{state="new"}`:                               eq(0),
		`sectriage_incidents_overdue`:                                    eq(0),
		`sectriage_outbox_pending_messages{platform="irc"}`:              eq(0),
		`sectriage_outbox_oldest_pending_age_seconds`:                    eq(0),
		`sectriage_outbox_dead_messages`:                                 eq(0),
		`sectriage_deliveries_total{adapter="irc"}`:                      atLeast(3), // incident, quarantine notice, claim notice
		`sectriage_delivery_failures_total{adapter="irc",final="true"}`:  eq(0),
		`sectriage_delivery_failures_total{adapter="irc",final="false"}`: eq(0),
		`sectriage_commands_total{outcome="ok",platform="irc"}`:          eq(1),
		`sectriage_command_duration_seconds_count{platform="irc"}`:       eq(1),
		`sectriage_nags_sent_total{step="assignee"}`:                     eq(0),
		`sectriage_escalations_sent_total{step="officers"}`:              eq(0),
		`sectriage_adapter_connected{adapter="irc"}`:                     eq(1),
		`sectriage_database_up`:                                          eq(1),
		`sectriage_config_last_reload_success_timestamp_seconds`:         atLeast(float64(time.Now().Add(-time.Hour).Unix())),
	} {
		if v, ok := got[name]; !ok || !check(v) {
			t.Errorf("%s = %v (present %v)", name, v, ok)
		}
	}
	if t.Failed() {
		_, body := d.get("/metrics")
		t.Logf("/metrics:\n%s", body)
	}

	code, body := d.get("/readyz")
	if code != http.StatusOK || body != "ok   database\nok   irc\nok   outbox\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}

	// A message nobody can deliver is given up: a dead letter, counted, and
	// the outbox is not ready until outbox_stuck_after has passed.
	db := openStateDB(t, d.path)
	defer db.Close()
	if err := db.Enqueue(context.Background(), []bot.OutboxMessage{{Dest: bot.Destination{Platform: bot.PlatformMattermost, Person: "alice"},
		Kind: bot.MessageAlert, Text: bot.PlainText("nobody delivers this"), Created: time.Now(), NextAttempt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, body = d.get("/readyz")
		if code == http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the probe
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "fail outbox: a message was given up") || !strings.Contains(body, "ok   irc") {
		t.Errorf("/readyz after a dead letter: %d %q", code, body)
	}
	_, body = d.get("/metrics")
	if got := series(t, body); got[`sectriage_delivery_failures_total{adapter="mattermost",final="true"}`] != 1 || got[`sectriage_outbox_dead_messages`] != 1 {
		t.Errorf("dead letter not counted:\n%s", body)
	}
}

func eq(want float64) func(float64) bool      { return func(v float64) bool { return v == want } }
func atLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }
