package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestBridgeEndToEnd: the daemon against the real InspIRCd + Anope and
// Mattermost, both making a channel per incident. An incident opens a
// channel on each; a message on each side arrives on the other once; a
// hostile one (mentions, CR/LF, CTCP, 5,000 characters) arrives inert on
// both; an outsider joining the IRC channel stops the relay and the
// officers are told; the discussion is in `show 1 discussion` after a
// restart.
func TestBridgeEndToEnd(t *testing.T) {
	start := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	w := newWorld(t, settings{MaxBodyLines: 3, ChannelPerIncident: true, IRCChannelPerIncident: true}, nil)
	mmAlice := w.watchMattermost(t, "alice")
	ircAlice := w.ircUsers["alice"]
	d := startDaemon(t, w.config)
	d.waitReady(t, wait)
	step("daemon ready")

	r := runBinary(t, w.report(t, "Bridged overflow", "the body\n"), "ingest", "-config", w.config)
	if r.code != 0 {
		t.Fatalf("ingest: exit %d %s", r.code, r.stderr)
	}
	const ch = "#sec-1"
	ircAlice.Seen(t, wait, fromBot("INVITE", "alice", ch))
	ircAlice.Join(ch, "")
	ircAlice.Seen(t, wait, ircnet.Cmd("JOIN", ch))
	ircAlice.Seen(t, wait, fromBot("PRIVMSG", ch, "Bridged overflow"))
	post := mmAlice.waitPost(t, wait, "SEC-1 in its channel", w.byBot("P", "SEC-1", "Bridged overflow"))
	mmCh := post.ChannelId
	step("channels on both platforms")

	// Mattermost → IRC, once.
	alice := w.mm.UserClient(t, "alice")
	mmPost := func(msg string) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, _, err := alice.CreatePost(ctx, &model.Post{ChannelId: mmCh, Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	sent := time.Now()
	mmPost("hello from mattermost")
	l := ircAlice.Seen(t, wait, fromBot("PRIVMSG", ch, "alice (mattermost): hello from mattermost"))
	step(fmt.Sprintf("Mattermost → IRC in %v", serverTime(l).Sub(sent).Round(time.Millisecond)))
	// IRC → Mattermost, once.
	sent = time.Now()
	ircAlice.Privmsg(ch, "hello from irc @channel")
	p := mmAlice.waitPost(t, wait, "the relay from IRC", w.byBot("P", "alice (irc): ", "hello from irc"))
	step(fmt.Sprintf("IRC → Mattermost in %v", time.Since(sent).Round(time.Millisecond)))
	if p.Mentions != "" {
		t.Errorf("the relay notified %s: %q", p.Mentions, p.Message)
	}

	// Once what the incident's opening queued has gone out (the first
	// relay waited behind it, at the configured pace), relays take:
	var toIRC, toMM []time.Duration
	for i := range 5 {
		sent := time.Now()
		mmPost(fmt.Sprintf("ping %d from mattermost", i))
		l := ircAlice.Seen(t, wait, fromBot("PRIVMSG", ch, fmt.Sprintf("alice (mattermost): ping %d from mattermost", i)))
		toIRC = append(toIRC, serverTime(l).Sub(sent))
		sent = time.Now()
		ircAlice.Privmsg(ch, fmt.Sprintf("pong %d from irc", i))
		mmAlice.waitPost(t, wait, "a relay from IRC", w.byBot("P", "alice (irc): ", fmt.Sprintf("pong %d from irc", i)))
		toMM = append(toMM, time.Since(sent))
	}
	step(fmt.Sprintf("relay latency, 5 each way: Mattermost → IRC max %v, IRC → Mattermost max %v", slices.Max(toIRC).Round(time.Millisecond), slices.Max(toMM).Round(time.Millisecond)))

	// Hostile, both ways.
	long := strings.Repeat("y", 5000)
	mmPost("evil\r\nPRIVMSG #security :injected\n\x01ACTION x\x01 @alice " + long)
	ircAlice.Seen(t, wait, fromBot("PRIVMSG", ch, "[cut;"))
	ircAlice.Privmsg(ch, "\x02bold\x02 @channel <!here> [x](https://evil.example) "+strings.Repeat("z", 400))
	mmAlice.waitPost(t, wait, "the hostile relay from IRC", w.byBot("P", "alice (irc): ", "evil.example"))
	ircAlice.Send("PING :sync")
	ircAlice.Seen(t, wait, ircnet.Cmd("PONG"))
	for _, l := range ircAlice.Lines() {
		if l.Nick() == "sectriage" && l.Param(0) == ch && strings.ContainsAny(l.Param(1), "\x01\x02\r\n") {
			t.Errorf("raw control bytes relayed: %q", l.Param(1))
		}
		if l.Param(0) == ircChannel && strings.Contains(l.Raw, "injected") {
			t.Errorf("injected into the triage channel: %s", l.Raw)
		}
	}
	fromMM := map[string]int{}
	for _, l := range ircAlice.Lines() {
		if l.Nick() == "sectriage" && l.Param(0) == ch && strings.HasPrefix(l.Param(1), "alice (mattermost): ") {
			fromMM[l.Param(1)]++
		}
	}
	for text, n := range fromMM {
		if n != 1 && !strings.HasPrefix(text, "alice (mattermost): evil") {
			t.Errorf("%q reached IRC %d times", text, n)
		}
	}
	if len(fromMM) < 1+5+1 {
		t.Errorf("%d distinct relays from Mattermost on IRC, want 7", len(fromMM))
	}
	relays := 0
	for _, p := range mmAlice.posts.all() {
		if p.UserId == w.mmBotID && strings.Contains(p.Message, "alice (irc): ") {
			relays++
			if p.Mentions != "" {
				t.Errorf("a relay notified %s: %q", p.Mentions, p.Message)
			}
		}
		if p.UserId == w.mmBotID && strings.Contains(p.Message, "(mattermost)") {
			t.Errorf("a Mattermost message came back to Mattermost: %q", p.Message)
		}
	}
	if relays != 2+5 {
		t.Errorf("%d relays from IRC on Mattermost, want 7", relays)
	}
	step("hostile messages inert")

	// An outsider in the IRC channel stops the relay; the officers hear.
	w.irc.RegisterAccount(t, "mallory", "mallory-pw")
	mallory := ircnet.Dial(t, w.irc.Addr(), "mallory", ircnet.ClientOptions{Account: "mallory", Password: "mallory-pw"})
	ircAlice.Send("INVITE mallory " + ch)
	mallory.Seen(t, wait, ircnet.Cmd("INVITE"))
	mallory.Join(ch, "")
	mallory.Seen(t, wait, ircnet.Cmd("JOIN", ch))
	mmAlice.waitPost(t, wait, "the outsider alert", w.byBot("D", "mallory"))
	ircAlice.Privmsg(ch, "said with mallory inside")
	mmPost("secret while mallory is inside")
	time.Sleep(3 * time.Second) // what would have been relayed by now
	for _, l := range mallory.Lines() {
		if strings.Contains(l.Raw, "secret while mallory") {
			t.Errorf("the outsider got %s", l.Raw)
		}
	}
	for _, p := range mmAlice.posts.all() {
		if strings.Contains(p.Message, "said with mallory inside") && p.UserId == w.mmBotID {
			t.Errorf("relayed while an outsider was in: %q", p.Message)
		}
	}
	step("outsider stopped the relay")

	// Both lines are in the record before the daemon stops: each is taken
	// as it arrives, which the sleep above does not promise.
	inside := func() bool {
		r := runBinary(t, nil, "cmd", "-config", w.config, "-as", "alice", "--", "show", "1", "discussion")
		return strings.Contains(r.stdout, "said with mallory inside") && strings.Contains(r.stdout, "secret while mallory is inside")
	}
	for deadline := time.Now().Add(wait); !inside() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}

	// After a restart the record still has it all.
	d.stop(t)
	d = startDaemon(t, w.config)
	d.waitReady(t, wait)
	r = runBinary(t, nil, "cmd", "-config", w.config, "-as", "alice", "--", "show", "1", "discussion")
	for _, want := range []string{"alice (mattermost): hello from mattermost", "alice (irc): hello from irc", "said with mallory inside", "secret while mallory is inside"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show 1 discussion lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	d.stop(t)
	w.checkLogClean(t, d.logText())
}
