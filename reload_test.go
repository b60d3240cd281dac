package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv/ircnet"
	"github.com/sectriage/sectriage/storage"
)

// TestReload changes the people, a SIG's rotation and deadlines and an
// adapter setting in the file of a running daemon and reloads it: the
// roster and new incidents follow at once, the IRC connection stays, the
// adapter setting is reported as needing a restart. Then an invalid file
// is refused with its reason, the officers are told, and the previous
// settings stay in force.
func TestReload(t *testing.T) {
	t.Parallel()
	d := startOpsDaemon(t, defaultSecrets, opsPeople, "")
	addr := strings.TrimPrefix(d.base, "http://")
	carol := ircnet.Dial(t, d.net.Addr(), "carol", ircnet.ClientOptions{Account: "carol", Password: "carol-pw"})
	carol.Join("#sec", defaultSecrets.channelKey)
	carol.Expect(t, 10*time.Second, ircnet.Cmd("JOIN", "#sec"))
	notice := func(c *ircnet.Client, text string) func(ircnet.Line) bool {
		return func(l ircnet.Line) bool {
			return l.Nick() == "sectriage" && l.Command == "NOTICE" && strings.Contains(l.Param(1), text)
		}
	}
	d.bob.Privmsg("#sec", "!oncall core")
	d.bob.Expect(t, 10*time.Second, notice(d.bob, "core: bob (the lead; no rotation)"))
	carol.Privmsg("sectriage", "oncall core")
	carol.Expect(t, 10*time.Second, notice(carol, "only from members of the security team"))
	if code, out := postReport(t, d.base, map[string]string{"subject": "before", "body": "first report"}); code != http.StatusCreated {
		t.Fatalf("report: %d %v", code, out)
	}

	// carol joins the team and is the only member of core's new rotation;
	// core acknowledges within 6h; the IRC body limit changes.
	people := opsPeople + `
[[people]]
name = "carol"
role = "member"
irc_account = "carol"

[sigs.rotation]
every = "daily"
handoff = "09:00"
members = ["carol"]
start = "2026-01-05"

[sigs.deadlines]
acknowledge = "6h"
`
	d.writeConfig(opsConfig(d.net, addr, "max_body_lines = 5\n") + people)
	d.reload <- syscall.SIGHUP
	d.waitLog("configuration reloaded", 1)
	if !strings.Contains(d.log.String(), `"section":"[irc]"`) || !strings.Contains(d.log.String(), "needs a restart") {
		t.Errorf("the [irc] change was not reported as needing a restart:\n%s", d.log.String())
	}
	d.bob.Privmsg("#sec", "!oncall core")
	d.bob.Expect(t, 10*time.Second, notice(d.bob, "core: carol (rotation daily"))
	carol.Privmsg("sectriage", "oncall core")
	carol.Expect(t, 10*time.Second, notice(carol, "core: carol (rotation daily"))
	if code, out := postReport(t, d.base, map[string]string{"subject": "after", "body": "second report"}); code != http.StatusCreated {
		t.Fatalf("report: %d %v", code, out)
	}
	db, err := storage.Open(context.Background(), filepath.Join(d.dir, "st.db"), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, want := range map[int64]struct {
		assignee string
		ack      time.Duration
	}{1: {"bob", 48 * time.Hour}, 2: {"carol", 6 * time.Hour}} {
		inc, err := db.Incident(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Assignee != want.assignee || inc.DueKind != "acknowledge" || inc.Due.Sub(inc.Created) != want.ack {
			t.Errorf("SEC-%d: assignee %s, %s due after %s; want %s, %s", id, inc.Assignee, inc.DueKind, inc.Due.Sub(inc.Created), want.assignee, want.ack)
		}
	}

	// An invalid file: refused with the reason, the officers are told, and
	// the settings stay.
	d.writeConfig(opsConfig(d.net, addr, "") + strings.Replace(people, `name = "carol"
role = "member"`, `name = "carol"
role = "admin"`, 1))
	d.reload <- syscall.SIGHUP
	d.waitLog("config reload refused", 1)
	if !strings.Contains(d.log.String(), `people[3].role: must be officer or member, not \"admin\"`) {
		t.Errorf("the refusal does not say why:\n%s", d.log.String())
	}
	// The alert waits behind SEC-2's post, paced at a line a second.
	d.alice.Expect(t, 30*time.Second, func(l ircnet.Line) bool {
		return l.Nick() == "sectriage" && l.Command == "PRIVMSG" && l.Param(0) == "alice" && strings.Contains(l.Param(1), "could not be reloaded")
	})
	carol.Privmsg("sectriage", "oncall core")
	carol.Expect(t, 10*time.Second, notice(carol, "core: carol (rotation daily"))

	// Nothing reconnected: one IRC session, the bot never left #sec.
	if n := strings.Count(d.log.String(), `"msg":"connected to IRC"`); n != 1 {
		t.Errorf("%d IRC connections, want 1", n)
	}
	joins := 0
	for _, l := range d.bob.Lines() {
		if l.Nick() != "sectriage" {
			continue
		}
		if l.Command == "JOIN" {
			joins++
		}
		if l.Command == "QUIT" || l.Command == "PART" || joins > 1 {
			t.Errorf("the bot's connection changed during the reloads: %s", l.Raw)
		}
	}
	_, body := d.get("/metrics")
	got := series(t, body)
	if got[`sectriage_config_reloads_total{result="applied"}`] != 1 || got[`sectriage_config_reloads_total{result="refused"}`] != 1 {
		t.Errorf("reloads not counted:\n%s", body)
	}
	if code, body := d.get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the reloads: %d %s", code, body)
	}
}
