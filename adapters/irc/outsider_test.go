package irc_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestPrivacyOutsidersGetNothing: a private channel with someone in it
// who is not on the team (logged in to an account nobody declared, or not
// logged in at all) gets no report content and no incident notice, and
// command answers typed there go to the sender instead; the officers are
// told once, `sectriage check` fails, and removing the outsider releases
// what was held.
func TestPrivacyOutsidersGetNothing(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	alice := securedChannel(t, n)
	watcher := joinAs(t, n, "watcher", sasl("watcher"))
	d := startDesk(t, n, deskOptions{})
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })

	for i, tc := range []struct {
		name, nick string
		opts       ircnet.ClientOptions
	}{
		{"a stranger logged in to services", "mallory", sasl("mallory")},
		{"a client not logged in", "anon", ircnet.ClientOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := fmt.Sprintf("QQ%d", i)
			outsider := joinAs(t, n, tc.nick, tc.opts)
			d.waitStatus(t, "saw the outsider", func(st irc.Status) bool {
				return !st.Private && strings.Contains(st.Refused, tc.nick+" (outsider)")
			})
			inc := d.open(t, "Embargoed title "+marker, "embargoed body "+marker)
			// A notice about the incident, as a change made elsewhere (a
			// claim on another platform) queues it: held with the post.
			notice := bot.OutboxMessage{Dest: bot.Destination{Platform: bot.PlatformIRC, Channel: bot.ChannelIncident},
				Kind: bot.MessageNotice, IncidentID: inc.ID, Text: bot.PlainText(inc.Name() + ": bob claimed it (triage)."),
				Created: time.Now(), NextAttempt: time.Now()}
			if err := d.db.Enqueue(context.Background(), []bot.OutboxMessage{notice}); err != nil {
				t.Fatal(err)
			}
			d.outbox.Wake()
			held := d.waitDelivered(t, 2, 2*wait, func(dl delivery) bool {
				return dl.m.IncidentID == inc.ID && dl.m.Dest.Channel != "" && bot.IsHeld(dl.err)
			})
			// A command typed in the channel is answered to its sender:
			// an echo of the change would tell the outsider.
			alice.Privmsg(channel, fmt.Sprintf("!claim %d", inc.ID))
			alice.Expect(t, wait, func(l ircnet.Line) bool {
				return fromBot("NOTICE", "alice")(l) && strings.Contains(l.Param(1), "claimed")
			})
			for _, dl := range held {
				if !strings.Contains(dl.err.Error(), tc.nick) {
					t.Errorf("%s held with %v: the reason must name the outsider", dl.m.Kind, dl.err)
				}
			}

			res, err := irc.Check(context.Background(), checkOptions(n), team(t), slog.New(slog.DiscardHandler))
			if err != nil || !res.Private || res.Err() == nil || !strings.Contains(res.Err().Error(), tc.nick+" (outsider)") {
				t.Fatalf("check: %+v, err %v / %v: want it to fail on the outsider", res, err, res.Err())
			}

			outsider.Send("PING :sync")
			outsider.Expect(t, wait, ircnet.Cmd("PONG"))
			for _, l := range outsider.Lines() {
				if l.Nick() == botNick && (l.Command == "PRIVMSG" || l.Command == "NOTICE") || strings.Contains(l.Raw, marker) {
					t.Errorf("the outsider received %s", l.Raw)
				}
			}

			alice.Send("KICK " + channel + " " + tc.nick + " :not on the team")
			d.waitStatus(t, "saw the channel fit again", func(st irc.Status) bool { return st.Private })
			watcher.Expect(t, 2*wait, func(l ircnet.Line) bool {
				return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "Embargoed title "+marker)
			})
			watcher.Expect(t, wait, func(l ircnet.Line) bool {
				return fromBot("PRIVMSG", channel)(l) && strings.Contains(l.Param(1), "bob claimed it")
			})
			// One alert for the problem, however many messages it held.
			alerts := 0
			for _, l := range alice.Lines() {
				if fromBot("PRIVMSG", "alice")(l) && strings.Contains(l.Param(1), "holding messages") && strings.Contains(l.Param(1), tc.nick) {
					alerts++
				}
			}
			if alerts != 1 {
				t.Errorf("alice got %d alerts about %s, want 1", alerts, tc.nick)
			}
			for _, l := range outsider.Lines() {
				if strings.Contains(l.Raw, marker) {
					t.Errorf("the outsider received %s", l.Raw)
				}
			}
		})
	}
}
