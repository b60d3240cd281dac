package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/internal/testenv"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
)

// TestMattermostEndToEnd runs the binary's commands against a real
// Mattermost: register the slash command (by hand when the bot may not,
// through the API when it may), check, then the daemon answering /sec.
func TestMattermostEndToEnd(t *testing.T) {
	s := mmserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	team := s.CreateTeam(t, "security")
	alice, _ := s.CreateUser(t, "alice")
	s.AddToTeam(t, team.Id, alice.Id)
	botID, botToken := s.CreateBot(t, "sectriage", team.Id)
	triage := s.CreateChannel(t, team.Id, "security-triage", true)
	s.AddToChannel(t, triage.Id, alice.Id)
	s.AddToChannel(t, triage.Id, botID)

	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("mm-token", botToken+"\n")
	write("button-secret", "0123456789abcdef0123456789abcdef\n")
	listen := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	config := fmt.Sprintf(`
[storage]
path = "st.db"

# No SMTP here: reporters get no acknowledgement, and check would say so.
[intake]
acknowledge = false

[[people]]
name = "alice"
role = "officer"
mattermost = "alice"

[[sigs]]
name = "core"
lead = "alice"

[server]
listen = %q
public_url = "http://%s"

[mattermost]
url = %q
token_file = "mm-token"
team = "security"
triage_channel = "security-triage"
slash_token_file = "slash-token"
button_secret_file = "button-secret"
trusted_members = ["admin"]
`, listen, listen, s.URL())
	write("sectriage.toml", withTeamKey(t, dir, config))
	cfg := filepath.Join(dir, "sectriage.toml")

	// A bot is not allowed to make slash commands: the operator is told how.
	code, out, errOut := runCLI(t, "", "mattermost", "register", "-config", cfg)
	if code != exitFailed || !strings.Contains(out, "Request URL:           http://"+listen+"/mattermost/command") || !strings.Contains(out, "Command Trigger Word:  sec") {
		t.Fatalf("register without permission: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "check", "-config", cfg)
	if code != exitFailed || !strings.Contains(out, "slash command token") || !strings.Contains(out, "cannot see the team's slash commands") {
		t.Fatalf("check before the slash command exists: exit %d\n%s", code, out)
	}

	// With the permission, register makes it and stores its token.
	if _, err := s.Admin().UpdateUserRoles(ctx, botID, "system_user system_admin"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "", "mattermost", "register", "-config", cfg)
	if code != exitOK || !strings.Contains(out, "slash command /sec created") || !strings.Contains(out, "wrote the slash command's token") {
		t.Fatalf("register: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ = runCLI(t, "", "mattermost", "register", "-config", cfg); code != exitOK || !strings.Contains(out, "/sec unchanged") {
		t.Fatalf("register again: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "check", "-config", cfg)
	t.Logf("check:\n%s", out)
	if code != exitOK || !strings.Contains(out, "/sec calls http://"+listen+"/mattermost/command") || !strings.Contains(out, "is private and holds only the team") {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	// The privacy rule fails check: someone not on the team in the
	// channel, or the channel made public.
	eve, _ := s.CreateUser(t, "eve")
	s.AddToTeam(t, team.Id, eve.Id)
	s.AddToChannel(t, triage.Id, eve.Id)
	if code, out, _ = runCLI(t, "", "check", "-config", cfg); code != exitFailed || !strings.Contains(out, "@eve (outsider)") {
		t.Fatalf("check with eve in the triage channel: exit %d\n%s", code, out)
	}
	if _, err := s.Admin().RemoveUserFromChannel(ctx, triage.Id, eve.Id); err != nil {
		t.Fatal(err)
	}
	s.ConvertChannelToPublic(t, triage.Id)
	if code, out, _ = runCLI(t, "", "check", "-config", cfg); code != exitFailed || !strings.Contains(out, "is not private (type O, public)") {
		t.Fatalf("check with a public triage channel: exit %d\n%s", code, out)
	}
	s.ConvertChannelToPrivate(t, triage.Id)
	if code, out, _ = runCLI(t, "", "check", "-config", cfg); code != exitOK {
		t.Fatalf("check once fixed: exit %d\n%s", code, out)
	}

	// The daemon: the listener answers the real server's /sec once the
	// adapter has checked its account (Ready says so).
	startDaemon(t, cfg, &syncBuffer{}, nil)
	resp, _, err := s.UserClient(t, "alice").ExecuteCommand(ctx, triage.Id, "/sec help")
	if err != nil || !strings.Contains(resp.Text, "Commands") || resp.ResponseType != model.CommandResponseTypeEphemeral {
		t.Fatalf("/sec help: %v %+v", err, resp)
	}
}
