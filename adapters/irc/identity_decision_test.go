package irc

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/lrstanley/girc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

type nopCommands struct{}

func (nopCommands) Run(context.Context, bot.Actor, string, bool) commands.Reply {
	return commands.Reply{}
}

// sessionFor is a session with no connection, fed lines by hand.
func sessionFor(t *testing.T, accountTag bool) *session {
	a := New(Options{Nick: "bot", TriageChannel: "#sec"}, Deps{Commands: nopCommands{}}, slog.New(slog.DiscardHandler))
	s := newSession(a)
	s.accountTag = accountTag
	for _, raw := range []string{
		":irc.test 001 bot :Welcome",
		":irc.test 005 bot CASEMAPPING=rfc1459 WHOX :are supported by this server",
		":bot!bot@h JOIN #sec * :bot",
		":irc.test 354 bot 152 #sec bob H bob",
		":irc.test 354 bot 152 #sec eve H 0",
	} {
		s.tr.handle(girc.ParseEvent(raw), accountTag, time.Unix(0, 0))
	}
	return s
}

// taken runs one line through onPrivmsg and returns the queued command.
func taken(t *testing.T, s *session, raw string) (commandRequest, bool) {
	t.Helper()
	e := girc.ParseEvent(raw)
	s.mu.Lock()
	s.tr.handle(e, s.accountTag, time.Unix(0, 0))
	s.mu.Unlock()
	s.onPrivmsg(e)
	select {
	case req := <-s.commands:
		return req, true
	default:
		return commandRequest{}, false
	}
}

func TestSenderIdentityComesFromTheAccountTag(t *testing.T) {
	s := sessionFor(t, true)
	for _, tc := range []struct {
		raw, account, channel, line string
	}{
		// The tag decides, whatever the nick and whatever was tracked.
		{"@account=bob :bob!b@h PRIVMSG #sec :!claim 42", "bob", "#sec", "claim 42"},
		{":bob!b@h PRIVMSG #sec :!claim 42", "", "#sec", "claim 42"},
		{"@account=bob :Eve!e@h PRIVMSG bot :claim 42", "bob", "", "claim 42"},
		{":mallory!m@h PRIVMSG BOT :!claim 42", "", "", "claim 42"},
		{"@account=bob :bob!b@h PRIVMSG #SEC :  !help", "bob", "#SEC", "help"},
	} {
		req, ok := taken(t, s, tc.raw)
		if !ok || req.account != tc.account || req.channel != tc.channel || req.line != tc.line {
			t.Errorf("%s: got %+v (taken %v), want account %q channel %q line %q", tc.raw, req, ok, tc.account, tc.channel, tc.line)
		}
	}
	for _, raw := range []string{
		"@account=bob :bob!b@h PRIVMSG #sec :claim 42",        // no prefix in the channel
		"@account=bob :bob!b@h PRIVMSG #other :!claim 42",     // not our channel
		"@account=bob :bob!b@h PRIVMSG bot :\x01VERSION\x01",  // CTCP
		"@account=bob :bob!b@h NOTICE bot :claim 42",          // notices are never commands
		"@account=sectriage :bot!b@h PRIVMSG #sec :!claim 42", // ourselves
	} {
		if req, ok := taken(t, s, raw); ok {
			t.Errorf("%q was taken as a command: %+v", raw, req)
		}
	}
}

func TestSenderIdentityWithoutAccountTag(t *testing.T) {
	s := sessionFor(t, false)
	// Tracked from WHOX: bob is logged in, eve is not; a stranger is unknown.
	for raw, want := range map[string]string{
		":bob!b@h PRIVMSG #sec :!claim 1":      "bob",
		":eve!e@h PRIVMSG #sec :!claim 1":      "",
		":mallory!m@h PRIVMSG bot :claim 1":    "",
		":bob!b@h PRIVMSG bot :claim 1":        "bob",
		"@account=eve :eve!e@h PRIVMSG bot :x": "", // a tag without the cap is not trusted
	} {
		req, ok := taken(t, s, raw)
		if raw == "@account=eve :eve!e@h PRIVMSG bot :x" {
			if ok && req.account != "" {
				t.Errorf("%s: account %q from a tag the server did not promise", raw, req.account)
			}
			continue
		}
		if !ok || req.account != want {
			t.Errorf("%s: account %q (taken %v), want %q", raw, req.account, ok, want)
		}
	}
	// bob logs out: the next command is an outsider's.
	s.tr.handle(girc.ParseEvent(":bob!b@h ACCOUNT *"), false, time.Unix(0, 0))
	if req, _ := taken(t, s, ":bob!b@h PRIVMSG #sec :!claim 1"); req.account != "" {
		t.Errorf("after ACCOUNT * bob still counts as %q", req.account)
	}
}
