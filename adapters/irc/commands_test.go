package irc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestCommandsByAccount: commands are authorised by the services account
// the server vouches for, never by the nick.
func TestCommandsByAccount(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	alice := securedChannel(t, n)
	// No platforms: the incidents queue nothing, the test is about commands.
	d := startDesk(t, n, deskOptions{platforms: []string{}})
	for range 42 {
		d.open(t, "Heap overflow in the SIP parser", "")
	}
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })
	ctx := context.Background()
	claimed := func() bool {
		inc, err := d.db.Incident(ctx, 42)
		if err != nil {
			t.Fatal(err)
		}
		return inc.Claimed || inc.State != bot.StateNew
	}

	t.Run("the nick of a declared person without an account is refused", func(t *testing.T) {
		// bob's nick, and even the channel key, but no login.
		impostor := joinAs(t, n, "bob", ircnet.ClientOptions{})
		impostor.Privmsg(channel, "!claim 42")
		// The impostor is an outsider in the channel: the channel fails
		// the privacy rule, so the answer goes to the nick.
		l := impostor.Expect(t, wait, fromBot("NOTICE", "bob"))
		if !strings.Contains(l.Param(1), commands.OutsiderRefusal) {
			t.Fatalf("impostor got %q, want the outsider refusal", l.Raw)
		}
		if claimed() {
			t.Fatal("SEC-42 changed after an impostor's command")
		}
		impostor.Close()
	})

	t.Run("an account nobody declared is refused", func(t *testing.T) {
		mallory := ircnet.Dial(t, n.Addr(), "mallory", sasl("mallory"))
		mallory.Privmsg(botNick, "claim 42")
		l := mallory.Expect(t, wait, fromBot("NOTICE", "mallory"))
		if !strings.Contains(l.Param(1), commands.OutsiderRefusal) {
			t.Fatalf("mallory got %q, want the outsider refusal", l.Raw)
		}
		if claimed() {
			t.Fatal("SEC-42 changed after an undeclared account's command")
		}
		// A second try within a minute is not even answered: refusals
		// cost the bot lines, and strangers must not spend them.
		mallory.Privmsg(botNick, "claim 42")
		mallory.Send("PING :after-second-try")
		mallory.Expect(t, wait, ircnet.Cmd("PONG"))
	})

	t.Run("a declared person logged in by SASL claims", func(t *testing.T) {
		bob := joinAs(t, n, "bob", sasl("bob"))
		bob.Privmsg(channel, "!claim 42")
		l := bob.Expect(t, wait, fromBot("NOTICE", channel))
		if !strings.HasPrefix(l.Param(1), "bob: You claimed SEC-42") {
			t.Fatalf("bob got %q", l.Raw)
		}
		inc, _ := d.db.Incident(ctx, 42)
		if inc.Assignee != "bob" || !inc.Claimed || inc.State != bot.StateTriage {
			t.Fatalf("SEC-42 after bob's claim: assignee %q claimed %v state %s", inc.Assignee, inc.Claimed, inc.State)
		}
		// alice sees the reply in the channel: it went to the channel,
		// addressed to bob, not to some other place.
		alice.Expect(t, wait, func(l ircnet.Line) bool {
			return fromBot("NOTICE", channel)(l) && strings.Contains(l.Param(1), "SEC-42")
		})
	})

	t.Run("a private message shows report content to a member", func(t *testing.T) {
		alice.Privmsg(botNick, "show 42")
		l := alice.Expect(t, wait, fromBot("NOTICE", "alice"))
		if !strings.Contains(l.Param(1), "SEC-42: Heap overflow in the SIP parser") {
			t.Fatalf("alice's PM reply %q lacks the title", l.Raw)
		}
	})
}
