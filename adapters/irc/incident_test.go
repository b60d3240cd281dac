package irc_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestIncidentChannelLifecycle: with channel_per_incident, a new incident
// gets its own channel on the real InspIRCd + Anope: made by the bot +s +i
// +k, registered and mode-locked with ChanServ, the officer invited (and
// able to join by the invitation alone), the incident's post there and
// not in the triage channel; a stranger cannot get in uninvited, and an
// outsider let in holds its messages; closing the incident drops the
// registration and the bot leaves.
func TestIncidentChannelLifecycle(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	alice := securedChannel(t, n)
	watcher := joinAs(t, n, "watcher", sasl("watcher"))
	d := startDesk(t, n, deskOptions{tweak: func(o *irc.Options) {
		o.ChannelPerIncident, o.IncidentChannel = true, "#sec-{id}"
	}})
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })

	inc := d.open(t, "Heap overflow in the parser", "the embargoed report body")
	ch := fmt.Sprintf("#sec-%d", inc.ID)
	inv := alice.Expect(t, 2*wait, func(l ircnet.Line) bool { return fromBot("INVITE", "alice")(l) })
	if inv.Param(1) != ch {
		t.Fatalf("invited to %q, want %q", inv.Param(1), ch)
	}
	// The invitation is enough: nobody needs the key.
	alice.Join(ch, "")
	alice.Expect(t, wait, ircnet.Cmd("JOIN", ch))
	alice.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", ch)(l) && strings.Contains(l.Param(1), "Heap overflow in the parser")
	})
	alice.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", ch)(l) && strings.Contains(l.Param(1), "the embargoed report body")
	})

	// Its modes, read from the server.
	alice.Send("MODE " + ch)
	modes := alice.Expect(t, wait, ircnet.Cmd("324")).Param(2)
	for _, m := range "sik" {
		if !strings.ContainsRune(modes, m) {
			t.Errorf("modes %q lack +%c", modes, m)
		}
	}
	name, key, archived, err := d.db.IRCIncidentChannel(context.Background(), inc.ID)
	if err != nil || name != ch || len(key) < 16 || archived {
		t.Fatalf("stored channel %q key %q archived %v: %v", name, key, archived, err)
	}
	// Registered to the bot, with the modes locked.
	alice.Privmsg("ChanServ", "INFO "+ch)
	alice.Expect(t, wait, func(l ircnet.Line) bool {
		return l.Nick() == "ChanServ" && strings.Contains(l.Param(1), "Founder") && strings.Contains(l.Param(1), botNick)
	})
	// The modes are locked: alice, auto-opped through her ChanServ access,
	// cannot open the channel.
	alice.Send("MODE " + ch + " -i")
	alice.Expect(t, wait, ircnet.Cmd("742")) // ERR_MLOCKRESTRICTED
	alice.Send("MODE " + ch)
	if modes := alice.Expect(t, wait, ircnet.Cmd("324")).Param(2); !strings.ContainsRune(modes, 'i') {
		t.Errorf("modes %q after -i: the lock did not hold", modes)
	}

	// Nothing about the incident went to the triage channel.
	watcher.Send("PING :sync")
	watcher.Expect(t, wait, ircnet.Cmd("PONG"))
	for _, l := range watcher.Lines() {
		if strings.Contains(l.Raw, "Heap overflow") || strings.Contains(l.Raw, "embargoed") {
			t.Errorf("the triage channel got %s", l.Raw)
		}
	}

	// What is said there goes into the record, and commands act on the
	// channel's incident without naming it.
	alice.Privmsg(ch, "I can reproduce it on 2.4 \x02bold\x02")
	alice.Privmsg(ch, "\x01ACTION checks the fuzzer\x01")
	alice.Privmsg(ch, "!severity high")
	alice.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("NOTICE", ch)(l) && strings.Contains(l.Param(1), "high")
	})
	alice.Privmsg(ch, "!show discussion")
	said := alice.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("NOTICE", ch)(l) && strings.Contains(l.Param(1), "reproduce it on 2.4")
	})
	if strings.Contains(said.Raw, "\x02") {
		t.Errorf("formatting came back raw: %q", said.Raw)
	}
	alice.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("NOTICE", ch)(l) && strings.Contains(l.Param(1), "/me checks the fuzzer")
	})
	_, events, err := d.svc.Timeline(context.Background(), bot.Actor{Person: team(t).ByName("alice"), Platform: bot.PlatformIRC}, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := bot.Discussion(events); len(got) != 2 || got[0].Actor != "alice" || got[0].Platform != bot.PlatformIRC {
		t.Fatalf("discussion recorded: %+v", got)
	}
	if inc2, _ := d.db.Incident(context.Background(), inc.ID); inc2.Severity != bot.SeverityHigh {
		t.Errorf("severity %s after !severity high in the incident channel", inc2.Severity)
	}

	// A new assignee is invited when the change is made, here by a command
	// typed in the channel itself.
	dave := ircnet.Dial(t, n.Addr(), "dave", sasl("dave"))
	alice.Privmsg(ch, "!assign dave")
	if inv := dave.Expect(t, 2*wait, fromBot("INVITE", "dave")); inv.Param(1) != ch {
		t.Fatalf("dave invited to %q", inv.Param(1))
	}
	dave.Join(ch, "")
	dave.Expect(t, wait, ircnet.Cmd("JOIN", ch))

	// A stranger cannot walk in, even with a guessed name.
	mallory := ircnet.Dial(t, n.Addr(), "mallory", sasl("mallory"))
	mallory.Join(ch, "")
	mallory.Expect(t, wait, func(l ircnet.Line) bool { return l.Command == "473" || l.Command == "475" })

	// Let in by a careless member, the stranger holds the channel's
	// messages, and the officers hear of it.
	alice.Send("INVITE mallory " + ch)
	mallory.Expect(t, wait, ircnet.Cmd("INVITE"))
	mallory.Join(ch, "")
	mallory.Expect(t, wait, ircnet.Cmd("JOIN", ch))
	notice := bot.OutboxMessage{Dest: bot.Destination{Platform: bot.PlatformIRC, Channel: bot.ChannelIncident},
		Kind: bot.MessageNotice, IncidentID: inc.ID, Text: bot.PlainText(inc.Name() + ": severity set to high."),
		Created: time.Now(), NextAttempt: time.Now()}
	if err := d.db.Enqueue(context.Background(), []bot.OutboxMessage{notice}); err != nil {
		t.Fatal(err)
	}
	d.outbox.Wake()
	held := d.waitDelivered(t, 1, 2*wait, func(dl delivery) bool {
		return dl.m.IncidentID == inc.ID && dl.m.Kind == bot.MessageNotice && bot.IsHeld(dl.err)
	})
	if !strings.Contains(held[0].err.Error(), "mallory") || !strings.Contains(held[0].err.Error(), ch) {
		t.Errorf("held with %v: want the channel and the outsider named", held[0].err)
	}
	alice.Send("KICK " + ch + " mallory :not on the team")
	alice.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", ch)(l) && strings.Contains(l.Param(1), "severity set to high")
	})
	for _, l := range mallory.Lines() {
		if l.Nick() == botNick && l.Command == "PRIVMSG" || strings.Contains(l.Raw, "Heap overflow") {
			t.Errorf("the outsider received %s", l.Raw)
		}
	}

	// Closing archives it: the registration is dropped and the bot leaves.
	alice.Privmsg(channel, fmt.Sprintf("!close %d wontfix", inc.ID))
	alice.Expect(t, 2*wait, func(l ircnet.Line) bool { return l.Nick() == botNick && l.Command == "PART" && l.Param(0) == ch })
	// Recorded once the lines are sent.
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		_, _, archived, err := d.db.IRCIncidentChannel(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if archived {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the channel is not recorded as archived")
		}
	}
	alice.Privmsg("ChanServ", "INFO "+ch)
	alice.Expect(t, wait, func(l ircnet.Line) bool {
		return l.Nick() == "ChanServ" && strings.Contains(l.Param(1), "isn't registered")
	})
}
