package irc

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lrstanley/girc"
	"github.com/sectriage/sectriage/bot"
)

type peopleService struct{ st *bot.Settings }

func (p peopleService) Settings() *bot.Settings                             { return p.st }
func (peopleService) AlertOfficers(context.Context, string, bot.Text) error { return nil }

// TestPrivacyVerdictFollowsTheChannel feeds a session the server's lines
// and asks the rule after each: modes, members and their accounts as
// JOIN, PART, KICK, QUIT, NICK, ACCOUNT and WHO replies change them.
func TestPrivacyVerdictFollowsTheChannel(t *testing.T) {
	people, err := bot.NewPeople([]bot.Person{
		{Name: "alice", Role: bot.RoleOfficer, IRCAccount: "alice"},
		{Name: "bob", Role: bot.RoleMember, IRCAccount: "bob"},
		{Name: "dave", Role: bot.RoleMember, IRCAccount: "dave"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{Nick: "bot", TriageChannel: "#sec", TrustedAccounts: []string{"LogBot"}}, Deps{Service: peopleService{&bot.Settings{People: people}}},
		slog.New(slog.DiscardHandler))
	s := newSession(a)
	for _, step := range []struct {
		lines []string
		ok    bool
		why   string // in the reason when not ok
	}{
		{[]string{":irc.test 001 bot :Welcome", ":irc.test 005 bot CASEMAPPING=rfc1459 WHOX :are supported",
			":irc.test 900 bot bot!bot@h sectriage :You are now logged in as sectriage",
			":bot!bot@h JOIN #sec", ":irc.test 324 bot #sec +snk key"}, false, "not known yet"},
		{[]string{":irc.test 353 bot = #sec :@bot alice Bob"}, false, "not known yet"},
		{[]string{":irc.test 354 bot 152 #sec alice H alice", ":irc.test 354 bot 152 #sec Bob H bob",
			":irc.test 315 bot #sec :End of /WHO list."}, true, ""},
		{[]string{":mallory!m@h JOIN #sec mallory :Mallory"}, false, "mallory (outsider)"},
		{[]string{":mallory!m@h PART #sec"}, true, ""},
		{[]string{":anon!a@h JOIN #sec * :anon"}, false, "anon (outsider)"},
		{[]string{":anon!a@h ACCOUNT dave"}, true, ""},
		{[]string{":anon!a@h ACCOUNT *"}, false, "anon (outsider)"},
		{[]string{":alice!a@h KICK #sec anon :bye"}, true, ""},
		// No extended-join, no tag: unknown until girc's WHO says.
		{[]string{":nick2!n@h JOIN #sec"}, false, "nick2 (unknown)"},
		{[]string{":irc.test 354 bot 1 #sec n h nick2 dave :Dave"}, true, ""},
		{[]string{":nick2!n@h NICK eve"}, true, ""},
		{[]string{":eve!n@h QUIT :bye"}, true, ""},
		// Another connection of the bot's own account is the bot.
		{[]string{":bot-check!b@h JOIN #sec sectriage :check"}, true, ""},
		{[]string{":alice!a@h MODE #sec -s"}, false, "not private"},
		{[]string{":alice!a@h MODE #sec +s"}, true, ""},
		{[]string{":Bob!b@h ACCOUNT *"}, false, "Bob (outsider)"},
		{[]string{":Bob!b@h ACCOUNT bob"}, true, ""},
		// [irc] trusted_members, by account only: the nick proves nothing.
		{[]string{":logger!l@h JOIN #sec logbot :logs"}, true, ""},
		{[]string{":LogBot!l@h JOIN #sec * :not logged in"}, false, "LogBot (outsider)"},
	} {
		for _, raw := range step.lines {
			s.mu.Lock()
			s.tr.handle(girc.ParseEvent(raw), false, time.Unix(0, 0))
			s.mu.Unlock()
		}
		v := s.verdict("#sec")
		if v.OK != step.ok || !step.ok && !strings.Contains(v.Reason, step.why) {
			t.Fatalf("after %q: %+v, want ok=%v (%q)", step.lines, v, step.ok, step.why)
		}
	}
}
