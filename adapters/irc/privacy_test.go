package irc_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestPublicTriageChannelGetsNoReport: a channel configured as the triage
// channel but neither +s nor +i/+k gets no report content; the officers
// get the alarm, on IRC by private message, and `sectriage check` says so.
// The post is held, not dropped: once the channel is private and the
// client that is not logged in has gone, it is posted.
func TestPublicTriageChannelGetsNoReport(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	cs := ircnet.DialAll(t,
		ircnet.Spec{Addr: n.Addr(), Nick: "alice", Opts: sasl("alice")},
		ircnet.Spec{Addr: n.Addr(), Nick: "watcher"})
	alice, watcher := cs[0], cs[1]
	for _, c := range cs {
		c.Join(channel, "")
		c.Expect(t, wait, ircnet.Cmd("JOIN", channel))
	}
	d := startDesk(t, n, deskOptions{})
	d.waitStatus(t, "read the channel's modes", func(st irc.Status) bool { return st.Modes != "" })

	d.open(t, "Secret title ZZ", "secret body ZZ")
	// The post is held, with the alarm raised; alice's ping (she is
	// online and logged in) goes by private message.
	post := d.waitDelivered(t, 1, 2*wait, func(dl delivery) bool { return dl.m.Kind == bot.MessageNewIncident })[0]
	var held *bot.HeldError
	if !errors.As(post.err, &held) || !strings.Contains(post.err.Error(), "not private") {
		t.Fatalf("new-incident post: err %v, want it held as 'not private'", post.err)
	}
	l := alice.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", "alice")(l) && strings.Contains(l.Param(1), "is not private")
	})
	if !strings.Contains(l.Param(1), channel) || strings.Contains(l.Param(1), "ZZ") {
		t.Fatalf("alarm %q: must name the channel and carry no report content", l.Param(1))
	}
	d.waitDelivered(t, 1, wait, func(dl delivery) bool { return dl.m.Kind == bot.MessageAlert && dl.err == nil })

	watcher.Send("PING :sync")
	watcher.Expect(t, wait, ircnet.Cmd("PONG"))
	for _, l := range watcher.Lines() {
		if l.Nick() == botNick && (l.Command == "PRIVMSG" || l.Command == "NOTICE") || strings.Contains(l.Raw, "ZZ") {
			t.Errorf("the public channel received %s", l.Raw)
		}
	}

	t.Run("check reports the channel as not private", func(t *testing.T) {
		res, err := irc.Check(context.Background(), checkOptions(n), team(t), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Joined || res.Private || res.Modes != "+nt" || res.Err() == nil || !res.LoggedIn {
			t.Fatalf("check: %+v (err %v)", res, res.Err())
		}
	})
	// The post and bob's highlight (he is not online).
	if s, _ := d.db.OutboxStats(context.Background()); s.Held != 2 || s.Dead != 0 {
		t.Fatalf("outbox %+v: want the post and a highlight held, nothing dead", s)
	}

	// Made private, the channel still has watcher, who is not logged in:
	// the post stays held.
	alice.Mode(channel, "+si")
	d.waitStatus(t, "saw the modes fixed and the outsider", func(st irc.Status) bool {
		return st.Modes == "+inst" && !st.Private && strings.Contains(st.Refused, "watcher (outsider)")
	})
	if s, _ := d.db.OutboxStats(context.Background()); s.Held != 2 {
		t.Fatalf("outbox %+v: want the post and the highlight still held", s)
	}
	alice.Send("KICK " + channel + " watcher :not on the team")
	d.waitStatus(t, "saw the channel fit", func(st irc.Status) bool { return st.Private })
	alice.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "Secret title ZZ")
	})
	for _, l := range watcher.Lines() {
		if strings.Contains(l.Raw, "ZZ") {
			t.Errorf("the outsider received %s", l.Raw)
		}
	}
}

// TestChannelTurningPublicStopsPosts: once the modes change to public,
// content is withheld and the alarm raised; when they are fixed, posting
// resumes.
func TestChannelTurningPublicStopsPosts(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	alice := securedChannel(t, n)
	watcher := joinAs(t, n, "watcher", sasl("watcher"))
	d := startDesk(t, n, deskOptions{platforms: []string{bot.PlatformIRC}})
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })

	t.Run("check reports the channel as private", func(t *testing.T) {
		// The check connection uses the bot's own nick, which is taken,
		// and so is the first alternative: it ends up with the second.
		o := checkOptions(n)
		o.Nick, o.AltNicks = botNick, []string{"alice", botNick + "-alt"}
		res, err := irc.Check(context.Background(), o, team(t), slog.New(slog.DiscardHandler))
		if err != nil || res.Err() != nil || !res.Private || res.Modes != "+knst" || res.Nick != botNick+"-alt" {
			t.Fatalf("check: %+v, err %v / %v", res, err, res.Err())
		}
	})

	d.open(t, "First title AA", "")
	watcher.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "First title AA")
	})
	// The post and the pings to bob (offline: a highlight) and alice.
	d.waitDelivered(t, 3, wait, func(dl delivery) bool { return dl.m.IncidentID == 1 && dl.err == nil })

	alice.Mode(channel, "-s")
	d.waitStatus(t, "saw the channel turn public", func(st irc.Status) bool { return !st.Private && st.Modes == "+knt" })
	alice.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", "alice")(l) && strings.Contains(l.Param(1), "is not private")
	})
	d.open(t, "Second title BB", "")
	// The post and bob's highlight are held; alice's ping goes to her by
	// private message, which is private whatever the channel.
	for _, dl := range d.waitDelivered(t, 3, 2*wait, func(dl delivery) bool { return dl.m.IncidentID == 2 }) {
		if dl.m.Dest.Person == "alice" != (dl.err == nil) {
			t.Fatalf("SEC-2 %s to %s: err %v", dl.m.Kind, dl.m.Dest, dl.err)
		}
	}

	alice.Mode(channel, "+s")
	d.waitStatus(t, "saw the channel private again", func(st irc.Status) bool { return st.Private })
	// What was held goes out now, then what comes next.
	watcher.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "Second title BB")
	})
	d.open(t, "Third title CC", "")
	watcher.Expect(t, wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "Third title CC")
	})

	t.Run("a person who asked for channel pings gets a highlight there", func(t *testing.T) {
		dave := joinAs(t, n, "dave", sasl("dave"))
		var txt bot.Text
		txt.Mention("dave").Plain(" SEC-3 needs triage")
		ping := bot.OutboxMessage{Dest: bot.Destination{Platform: bot.PlatformIRC, Person: "dave"}, Kind: bot.MessagePing,
			IncidentID: 3, Text: txt, Created: time.Now(), NextAttempt: time.Now()}
		if err := d.db.Enqueue(context.Background(), []bot.OutboxMessage{ping}); err != nil {
			t.Fatal(err)
		}
		d.outbox.Wake()
		dave.Expect(t, wait, func(l ircnet.Line) bool {
			return fromBot("PRIVMSG", channel)(l) && l.Param(1) == "dave SEC-3 needs triage"
		})
		for _, l := range dave.Lines() {
			if fromBot("PRIVMSG", "dave")(l) {
				t.Errorf("dave asked for channel pings but got a private message: %s", l.Raw)
			}
		}
	})
}

// TestRefusedChannel: a channel that will not let the bot in (here, a key
// changed behind its back) gets nothing, does not hold up the private
// messages queued after it, and the officers hear of it.
func TestRefusedChannel(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	alice := ircnet.Dial(t, n.Addr(), "alice", sasl("alice"))
	alice.Join(channel, "")
	alice.Expect(t, wait, ircnet.Cmd("JOIN", channel))
	alice.Mode(channel, "+snk", "another-key")
	alice.Expect(t, wait, ircnet.Cmd("MODE", channel))
	d := startDesk(t, n, deskOptions{})
	d.waitStatus(t, "was refused", func(st irc.Status) bool { return st.JoinError != "" })

	d.open(t, "Refused DD", "")
	post := d.waitDelivered(t, 1, 2*wait, func(dl delivery) bool { return dl.m.Kind == bot.MessageNewIncident })[0]
	if post.err == nil || !strings.Contains(post.err.Error(), "cannot join") {
		t.Fatalf("post: err %v, want cannot join", post.err)
	}
	// alice's ping and the alarm reach her by private message.
	alice.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", "alice")(l) && strings.Contains(l.Param(1), "cannot join the IRC channel "+channel+" (475")
	})
	res, err := irc.Check(context.Background(), checkOptions(n), team(t), slog.New(slog.DiscardHandler))
	if err != nil || res.Joined || !strings.HasPrefix(res.JoinError, "475") || res.Err() == nil {
		t.Fatalf("check: %+v %v", res, err)
	}
}

// checkOptions are the bot's options for a check connection.
func checkOptions(n *ircnet.Network) irc.Options {
	return irc.Options{
		Server: n.Addr(), Nick: botNick + "-check",
		SASL:          irc.SASL{Mechanism: irc.SASLPlain, Account: botNick, Password: password + botNick},
		TriageChannel: channel, TriageKey: chanKey, ModeGrace: time.Second,
	}
}
