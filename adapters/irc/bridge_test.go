package irc_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// mmSide stands in for the Mattermost adapter: it takes the outbox's
// Mattermost messages and notes when each relay arrived.
type mmSide struct {
	mu     sync.Mutex
	relays []bot.OutboxMessage
	at     []time.Time
	more   chan struct{}
}

func (m *mmSide) Deliver(ctx context.Context, msg bot.OutboxMessage) error {
	if msg.Kind != bot.MessageRelay {
		return nil
	}
	m.mu.Lock()
	m.relays, m.at = append(m.relays, msg), append(m.at, time.Now())
	m.mu.Unlock()
	select {
	case m.more <- struct{}{}:
	default:
	}
	return nil
}

// wait returns the n-th relay (from 0) and when it arrived.
func (m *mmSide) wait(t testing.TB, n int) (bot.OutboxMessage, time.Time) {
	t.Helper()
	deadline := time.After(2 * wait)
	for {
		m.mu.Lock()
		if len(m.relays) > n {
			defer m.mu.Unlock()
			return m.relays[n], m.at[n]
		}
		m.mu.Unlock()
		select {
		case <-m.more:
		case <-deadline:
			t.Fatalf("relay %d never reached Mattermost", n+1)
		}
	}
}

func (m *mmSide) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.relays)
}

// TestBridgeRelaysBothWays: with both platforms making incident channels,
// what a person says in the IRC channel reaches Mattermost's once, as
// "name (irc): text", and what is said on Mattermost reaches the IRC
// channel once, inert (no CR/LF injection, no CTCP, every line within
// 512 bytes, a 5,000-character line cut); the bot's own relayed lines
// are not relayed back; an outsider joining the IRC channel stops the
// relay both ways and the officers are told. Latency is measured.
func TestBridgeRelaysBothWays(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	alice := securedChannel(t, n)
	d := startDesk(t, n, deskOptions{platforms: []string{bot.PlatformIRC, bot.PlatformMattermost}, tweak: func(o *irc.Options) {
		o.ChannelPerIncident, o.IncidentChannel = true, "#sec-{id}"
	}})
	st := *d.svc.Settings()
	st.Bridge = []string{bot.PlatformIRC, bot.PlatformMattermost}
	d.svc.SetSettings(&st)
	mm := &mmSide{more: make(chan struct{}, 1)}
	d.outbox.Register(bot.PlatformMattermost, mm)
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })

	inc := d.open(t, "Bridged incident", "")
	ch := fmt.Sprintf("#sec-%d", inc.ID)
	alice.Expect(t, 2*wait, func(l ircnet.Line) bool { return fromBot("INVITE", "alice")(l) })
	alice.Join(ch, "")
	alice.Expect(t, wait, ircnet.Cmd("JOIN", ch))
	alice.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", ch)(l) && strings.Contains(l.Param(1), "Bridged incident")
	})
	bob := bot.Actor{Person: st.People.ByName("bob"), Platform: bot.PlatformMattermost}
	ctx := context.Background()

	// Latency, both ways, message sent → seen on the other side.
	const rounds = 20
	var toMM, toIRC []time.Duration
	for i := range rounds {
		sent := time.Now()
		alice.Privmsg(ch, fmt.Sprintf("from irc %02d @here", i))
		m, at := mm.wait(t, i)
		toMM = append(toMM, at.Sub(sent))
		if got := bot.RenderPlain(m.Text); got != fmt.Sprintf("alice (irc): from irc %02d @here", i) || m.IncidentID != inc.ID || m.Dest.Channel != bot.ChannelIncident {
			t.Fatalf("relay to Mattermost: %q %+v", got, m.Dest)
		}
		sent = time.Now()
		if err := d.svc.Discuss(ctx, bob, inc.ID, bot.Said{Text: fmt.Sprintf("from mattermost %02d", i), Relay: true}); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("bob (mattermost): from mattermost %02d", i)
		alice.Expect(t, wait, func(l ircnet.Line) bool { return fromBot("PRIVMSG", ch)(l) && l.Param(1) == want })
		toIRC = append(toIRC, time.Since(sent))
	}
	t.Logf("relay latency IRC→Mattermost (outbox hand-off): p50 %v p99 %v; Mattermost→IRC (seen by an IRC client): p50 %v p99 %v",
		pct(toMM, 50), pct(toMM, 99), pct(toIRC, 50), pct(toIRC, 99))

	// A hostile message from Mattermost arrives inert.
	hostile := "first line\r\nPRIVMSG #sec :injected\n\x01ACTION dances\x01 \x02bold\x02 @alice " + strings.Repeat("x", 5000)
	if err := d.svc.Discuss(ctx, bob, inc.ID, bot.Said{Text: hostile, Relay: true}); err != nil {
		t.Fatal(err)
	}
	alice.Expect(t, wait, func(l ircnet.Line) bool { return fromBot("PRIVMSG", ch)(l) && strings.Contains(l.Param(1), "[cut;") })
	alice.Send("PING :sync")
	alice.Expect(t, wait, ircnet.Cmd("PONG"))
	for _, l := range alice.Lines() {
		if l.Nick() != botNick || l.Param(0) != ch {
			continue
		}
		if wireLen(l) > 512 {
			t.Errorf("a %d-byte line", wireLen(l))
		}
		if strings.ContainsAny(l.Param(1), "\x01\x02\r\n") {
			t.Errorf("raw control bytes relayed: %q", l.Param(1))
		}
	}
	for _, l := range alice.Lines() {
		if l.Command == "PRIVMSG" && l.Param(0) == "#sec" && strings.Contains(l.Raw, "injected") {
			t.Errorf("injected line reached #sec: %s", l.Raw)
		}
	}
	// Nothing went back: the bot's relayed lines are not relayed again.
	if c := mm.count(); c != rounds {
		t.Errorf("%d relays reached Mattermost, want %d (one per IRC message)", c, rounds)
	}

	// An outsider in the IRC channel stops the relay, both ways.
	mallory := ircnet.Dial(t, n.Addr(), "mallory", sasl("mallory"))
	alice.Send("INVITE mallory " + ch)
	mallory.Expect(t, wait, ircnet.Cmd("INVITE"))
	mallory.Join(ch, "")
	mallory.Expect(t, wait, ircnet.Cmd("JOIN", ch))
	alice.Expect(t, 2*wait, func(l ircnet.Line) bool {
		return fromBot("PRIVMSG", "alice")(l) && strings.Contains(l.Param(1), "mallory")
	})
	alice.Privmsg(ch, "said while mallory is here")
	if err := d.svc.Discuss(ctx, bob, inc.ID, bot.Said{Text: "secret from mattermost", Relay: true}); err != nil {
		t.Fatal(err)
	}
	d.waitDelivered(t, 1, 2*wait, func(dl delivery) bool { return dl.m.Kind == bot.MessageRelay && bot.IsHeld(dl.err) })
	// The message is recorded (its relay, had there been one, is queued in
	// the same transaction): then nothing may be on its way to Mattermost.
	deadline := time.Now().Add(wait)
	for {
		_, events, err := d.svc.Timeline(ctx, bob, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(bot.Discussion(events), func(e bot.Event) bool { return e.Details == "said while mallory is here" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the message said while the outsider was in is not in the record")
		}
		time.Sleep(20 * time.Millisecond)
	}
	queued, err := d.db.DueMessagesWhere(ctx, bot.OutboxFilter{Platforms: []string{bot.PlatformMattermost}}, time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if c := mm.count(); c != rounds || len(queued) != 0 {
		t.Errorf("%d relays reached Mattermost and %d are queued: a message said while an outsider was in was relayed", c, len(queued))
	}
	for _, l := range mallory.Lines() {
		if strings.Contains(l.Raw, "secret from mattermost") {
			t.Errorf("the outsider received %s", l.Raw)
		}
	}
}

// pct is the p-th percentile of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(min(i, len(s))-1, 0)]
}
