package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv/ircnet"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
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
	db := openStateDB(t, d.path)
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

// TestReloadResolvesMattermostPeople: a person added on reload is looked
// up on Mattermost and may use /sec at once; the websocket stays up.
func TestReloadResolvesMattermostPeople(t *testing.T) {
	t.Parallel()
	s := mmserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	team := s.CreateTeam(t, "security")
	triage := s.CreateChannel(t, team.Id, "security-triage", true)
	for _, name := range []string{"alice", "bob"} {
		u, _ := s.CreateUser(t, name)
		s.AddToTeam(t, team.Id, u.Id)
		s.AddToChannel(t, triage.Id, u.Id)
	}
	botID, token := s.CreateBot(t, "sectriage", team.Id)
	s.AddToChannel(t, triage.Id, botID)
	addr := freeAddr(t)
	slash := s.CreateSlashCommand(t, team.Id, "sec", "http://"+addr+"/mattermost/command")
	dir := t.TempDir()
	for name, content := range map[string]string{"mm-token": token, "slash-token": slash.Token, "button-secret": "0123456789abcdef0123456789abcdef"} {
		writeFile(t, filepath.Join(dir, name), content+"\n")
	}
	common := `
[storage]
path = "st.db"

[server]
listen = "` + addr + `"
public_url = "http://` + addr + `"

[mattermost]
url = "` + s.URL() + `"
token_file = "mm-token"
team = "security"
triage_channel = "security-triage"
slash_token_file = "slash-token"
button_secret_file = "button-secret"
trusted_members = ["admin"]

[[people]]
name = "alice"
role = "officer"
mattermost = "alice"

[[sigs]]
name = "core"
lead = "alice"
`
	path := filepath.Join(dir, "sectriage.toml")
	common = withTeamKey(t, dir, common)
	writeFile(t, path, common)
	log := &syncBuffer{}
	reload := make(chan os.Signal, 1)
	startDaemon(t, path, log, reload)
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened", what)
			}
			time.Sleep(20 * time.Millisecond) // polling
		}
	}
	ready := func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	bob := s.UserClient(t, "bob")
	resp, _, err := bob.ExecuteCommand(ctx, triage.Id, "/sec oncall core")
	if err != nil || !strings.Contains(resp.Text, "only from members of the security team") {
		t.Fatalf("bob before the reload: %v %+v", err, resp)
	}

	writeFile(t, path, common+`
[[people]]
name = "bob"
role = "member"
mattermost = "bob"
`)
	reload <- syscall.SIGHUP
	waitFor("the reload", func() bool { return strings.Contains(log.String(), "resolved the people again") })
	resp, _, err = bob.ExecuteCommand(ctx, triage.Id, "/sec oncall core")
	if err != nil || !strings.Contains(resp.Text, "core: alice") {
		t.Fatalf("bob after the reload: %v %+v", err, resp)
	}
	if n := strings.Count(log.String(), "websocket connected"); n != 1 || !ready() {
		t.Errorf("%d websocket connections, ready %v", n, ready())
	}
}
