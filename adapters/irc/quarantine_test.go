package irc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/intaketest"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestQuarantineDesk runs the desk over a real IRC network: an officer
// lists and releases by private message, a member is refused, and the
// released entry becomes an incident once its key is configured.
func TestQuarantineDesk(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	alice := securedChannel(t, n)
	d := startDesk(t, n, deskOptions{platforms: []string{}, quarantine: true})
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })
	ctx := context.Background()
	res, err := d.intake.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: intaketest.Mail("NEXT", "rita@example.net", "rce", "CANARY-IRC")})
	if err != nil || res.QuarantineID != 1 {
		t.Fatalf("receive: %+v %v", res, err)
	}
	reply := func(c *ircnet.Client, nick, line, want string) string {
		t.Helper()
		c.Privmsg(botNick, line)
		l := c.Expect(t, wait, func(l ircnet.Line) bool {
			return fromBot("NOTICE", nick)(l) && strings.Contains(l.Param(1), want)
		})
		return l.Param(1)
	}
	if got := reply(alice, "alice", "quarantine", "Q-1"); !strings.Contains(got, "wrong-key") || !strings.Contains(got, "rita@example.net") {
		t.Errorf("alice's list: %q", got)
	}
	reply(alice, "alice", "quarantine show Q-1", "Message-ID: <rce@example.net>")
	bob := ircnet.Dial(t, n.Addr(), "bob", sasl("bob"))
	reply(bob, "bob", "quarantine release Q-1", "Only a security officer")
	if q, _ := d.db.QuarantineEntry(ctx, 1); !q.ReleasedAt.IsZero() {
		t.Fatal("a member's release changed Q-1")
	}
	d.gate.AddKey("NEXT")
	reply(alice, "alice", "quarantine release Q-1", "became SEC-1")
	if inc, err := d.db.Incident(ctx, 1); err != nil || inc.Title != "rce" {
		t.Fatalf("SEC-1: %+v %v", inc, err)
	}
}
