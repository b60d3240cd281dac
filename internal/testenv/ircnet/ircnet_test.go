package ircnet

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

const wait = 5 * time.Second

// TestAccountsChannelsAndRestart covers what the bot's IRC tests rely on:
// SASL over TLS, secret channels that outsiders cannot enter or see, the
// account tag (present for a logged-in sender, absent otherwise) and
// accounts that survive a network restart.
func TestAccountsChannelsAndRestart(t *testing.T) {
	t.Parallel() // each test has its own network on its own ports
	start := time.Now()
	n := Start(t, Options{})
	t.Logf("network ready in %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	n.RegisterAccount(t, "alice", "alice-pw")
	t.Logf("account registered in %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	caps := []string{"account-tag", "extended-join", "message-tags", "server-time", "echo-message"}
	cs := DialAll(t,
		Spec{n.TLSAddr(), "alice", ClientOptions{TLS: n.TLSConfig(), Account: "alice", Password: "alice-pw", Caps: caps}},
		Spec{n.Addr(), "alice2", ClientOptions{}},
		Spec{n.Addr(), "carol", ClientOptions{Caps: []string{"account-tag", "extended-join"}}},
	)
	alice, alice2, carol := cs[0], cs[1], cs[2]
	t.Logf("3 clients (one TLS+SASL) registered in %v", time.Since(start).Round(time.Millisecond))

	// The TLS client verified the chain against TLSConfig; check the pin too.
	state := alice.conn.(*tls.Conn).ConnectionState()
	sum := sha256.Sum256(state.PeerCertificates[0].Raw)
	if got := hex.EncodeToString(sum[:]); got != n.CertFingerprint {
		t.Errorf("server certificate fingerprint %s, Network.CertFingerprint %s", got, n.CertFingerprint)
	}

	for _, c := range cs {
		c.Join("#lobby", "")
		c.Expect(t, wait, Cmd("JOIN", "#lobby"))
	}
	alice.Join("#secret", "")
	alice.Expect(t, wait, Cmd("JOIN", "#secret"))
	alice.Mode("#secret", "+sik", "key")
	alice.Expect(t, wait, Cmd("MODE", "#secret", "+sik", "key"))

	// alice2 gets in neither without the key nor with it, uninvited
	// (InspIRCd checks +k before +i).
	alice2.Join("#secret", "")
	alice2.Expect(t, wait, Cmd("475", "alice2", "#secret"))
	alice2.Join("#secret", "key")
	alice2.Expect(t, wait, Cmd("473", "alice2", "#secret"))
	alice2.Send("LIST")
	for l := alice2.Expect(t, wait, Cmd("322")); l.Command == "322"; l = alice2.Expect(t, wait, func(l Line) bool {
		return l.Command == "322" || l.Command == "323"
	}) {
		if l.Param(1) == "#secret" {
			t.Errorf("LIST shows the +s channel to an outsider: %s", l.Raw)
		}
	}

	// An invitation lets carol in; on InspIRCd 3 it overrides +k as well.
	// alice sees her join as not logged in (extended-join account "*").
	alice.Send("INVITE carol #secret")
	carol.Expect(t, wait, Cmd("INVITE", "carol", "#secret"))
	carol.Join("#secret", "")
	carol.Expect(t, wait, Cmd("JOIN", "#secret"))
	if l := alice.Expect(t, wait, Cmd("JOIN", "#secret", "*")); l.Nick() != "carol" {
		t.Errorf("extended-join: want carol joining with account *, got %s", l.Raw)
	}

	alice.Privmsg("#secret", "secret plan")
	l := carol.Expect(t, wait, Cmd("PRIVMSG", "#secret"))
	if acct, ok := l.Tag("account"); !ok || acct != "alice" || l.Param(1) != "secret plan" {
		t.Errorf("carol got %q; want alice's message with account=alice", l.Raw)
	}
	alice.Expect(t, wait, Cmd("PRIVMSG", "#secret")) // echo-message

	alice2.Privmsg("#lobby", "hello from alice2")
	l = carol.Expect(t, wait, Cmd("PRIVMSG", "#lobby"))
	if acct, ok := l.Tag("account"); ok || l.Nick() != "alice2" {
		t.Errorf("carol got %q; want alice2's message with no account tag (got %q)", l.Raw, acct)
	}
	// alice speaks in #lobby after #secret; once alice2 has this line, any
	// leak from #secret would already have arrived.
	alice.Privmsg("#lobby", "done")
	alice2.Expect(t, wait, Cmd("PRIVMSG", "#lobby"))
	for _, l := range alice2.Lines() {
		if strings.Contains(l.Raw, "secret plan") || (l.Param(0) == "#secret" && !strings.HasPrefix(l.Command, "4")) {
			t.Errorf("outsider alice2 received a line from #secret: %s", l.Raw)
		}
	}

	start = time.Now()
	n.Restart(t)
	t.Logf("restart took %v", time.Since(start).Round(time.Millisecond))
	for _, c := range cs {
		select {
		case <-c.Done():
		case <-time.After(wait):
			t.Errorf("%s still connected after the restart", c.Nick())
		}
	}
	// The account survived: SASL works, and a wrong password still fails.
	again := Dial(t, n.TLSAddr(), "alice", ClientOptions{TLS: n.TLSConfig(), Account: "alice", Password: "alice-pw"})
	again.Send("WHOIS alice")
	again.Expect(t, wait, Cmd("330", "alice", "alice", "alice"))
	if _, err := connect(n.Addr(), "mallory", ClientOptions{Account: "alice", Password: "wrong"}); err == nil || !strings.Contains(err.Error(), "904") {
		t.Errorf("SASL with a wrong password: got %v, want a 904 failure", err)
	}
}

// TestFakeLag proves the FakeLag connect class behaves like a real network:
// a burst within the limits goes through at once, a longer burst is
// delayed, a flood is disconnected, and a client keeping to one line per
// 2 s after a burst of 4 is never delayed or disconnected.
func TestFakeLag(t *testing.T) {
	t.Parallel()
	n := Start(t, Options{FakeLag: true})
	echo := ClientOptions{Caps: []string{"echo-message"}}
	cs := DialAll(t,
		Spec{n.Addr(), "flooder", echo}, Spec{n.Addr(), "steady", echo},
		Spec{n.Addr(), "bursty", echo}, Spec{n.Addr(), "watcher", ClientOptions{}})
	flooder, steady, bursty, watcher := cs[0], cs[1], cs[2], cs[3]
	for _, c := range cs {
		c.Join("#flood", "")
		c.Expect(t, wait, Cmd("JOIN", "#flood"))
	}

	t.Run("group", func(t *testing.T) {
		t.Run("60 lines at once are disconnected", func(t *testing.T) {
			t.Parallel()
			lines := make([]string, 60)
			for i := range lines {
				lines[i] = "PRIVMSG #flood :flood line " + pad(i) + " of 60, as a bot pasting a long report would"
			}
			flooder.Send(strings.Join(lines, "\r\n"))
			l := flooder.Expect(t, wait, Cmd("ERROR"))
			if !strings.Contains(l.Param(0), "RecvQ exceeded") {
				t.Errorf("want a RecvQ exceeded disconnect, got %s", l.Raw)
			}
			<-flooder.Done()
		})
		t.Run("burst of 4 then one line per 2 s survives", func(t *testing.T) {
			t.Parallel()
			sent := time.Now()
			steady.Send("PRIVMSG #flood :steady 0\r\nPRIVMSG #flood :steady 1\r\nPRIVMSG #flood :steady 2\r\nPRIVMSG #flood :steady 3")
			for range 4 {
				steady.Expect(t, wait, Cmd("PRIVMSG", "#flood"))
			}
			checkPrompt(t, sent, time.Now())
			tick := time.NewTicker(2 * time.Second)
			defer tick.Stop()
			for i := 4; i < 8; i++ {
				<-tick.C
				sent = time.Now()
				steady.Privmsg("#flood", "steady "+pad(i))
				checkPrompt(t, sent, steady.Expect(t, wait, Cmd("PRIVMSG", "#flood")).At)
			}
			steady.Send("PING :still-here")
			steady.Expect(t, wait, Cmd("PONG"))
		})
		t.Run("lines past the burst are delayed, not dropped", func(t *testing.T) {
			t.Parallel()
			lines := make([]string, 14)
			for i := range lines {
				lines[i] = "PRIVMSG #flood :bursty " + pad(i)
			}
			sent := time.Now()
			bursty.Send(strings.Join(lines, "\r\n"))
			var at []time.Time
			for range lines {
				at = append(at, bursty.Expect(t, wait, Cmd("PRIVMSG", "#flood")).At)
			}
			// 8-11 lines pass at once (fewer while the JOIN's penalty of 2
			// has not drained yet), the rest one a second.
			checkPrompt(t, sent, at[4])
			if lag := at[13].Sub(sent); lag < 1500*time.Millisecond {
				t.Errorf("14th line processed after %v; fake lag should hold it back 2-3 s", lag)
			}
			t.Logf("14-line burst: line 1 after %v, line 10 after %v, line 14 after %v", at[0].Sub(sent).Round(time.Millisecond),
				at[9].Sub(sent).Round(time.Millisecond), at[13].Sub(sent).Round(time.Millisecond))
		})
	})

	// What the other clients saw: every steady and bursty line, and none of
	// the flood beyond the 10-line burst.
	watcher.Send("PING :sync")
	watcher.Expect(t, wait, Cmd("PONG"))
	count := map[string]int{}
	for _, l := range watcher.Lines() {
		if l.Command == "PRIVMSG" {
			count[l.Nick()]++
		}
	}
	if count["steady"] != 8 || count["bursty"] != 14 || count["flooder"] > 10 {
		t.Errorf("watcher saw %v; want steady 8, bursty 14, flooder at most 10", count)
	}
}

// checkPrompt fails unless the server handled a line within 800 ms. Lines
// normally take ~40 ms; a fake-lagged one waits for the server's one-second
// penalty tick. The margin is for a busy CI machine.
func checkPrompt(t *testing.T, sent, processed time.Time) {
	t.Helper()
	if d := processed.Sub(sent); d > 800*time.Millisecond {
		t.Errorf("line processed %v after sending; it was fake-lagged", d)
	}
}

func pad(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }
