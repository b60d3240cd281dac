package irc_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

const injection = "\r\nPRIVMSG #other :pwned"

// hostileBody is a 10 KB report that tries everything: protocol injection,
// CTCP, colours and formatting, NUL, bidi overrides, a line far longer than
// IRC allows and multi-byte text across the places lines are cut.
func hostileBody() string {
	var b strings.Builder
	b.WriteString("Dear team," + injection + "\n")
	b.WriteString("\x01VERSION\x01 and \x01ACTION waves\x01\n")
	b.WriteString("\x034,5red on green\x03 \x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x16rev\x16 \x11mono\x11 \x1estrike\x1e \x0freset\n")
	b.WriteString("nul\x00byte and \u202eevil bidi\u202c\n")
	b.WriteString("PRIVMSG #other :second " + "pwned\n")
	b.WriteString(strings.Repeat("€uro-ÿ-🔥-", 200) + "\n") // ~3 KB without a space
	for i := 0; b.Len() < 10*1024; i++ {
		fmt.Fprintf(&b, "line %03d: gräßlich ünïcödé ✓ and some words to fill the line up a bit\n", i)
	}
	return b.String()
}

// TestHostileReportArrivesNeutralised: a report whose subject and body try
// to inject IRC lines, CTCP and formatting arrives whole but inert: every
// line within 512 bytes, nothing for any other channel.
func TestHostileReportArrivesNeutralised(t *testing.T) {
	t.Parallel()
	n := ircnet.Start(t, ircnet.Options{})
	n.RegisterAccounts(t, accounts...)
	securedChannel(t, n)
	cs := ircnet.DialAll(t,
		ircnet.Spec{Addr: n.Addr(), Nick: "watcher", Opts: sasl("watcher")},
		ircnet.Spec{Addr: n.Addr(), Nick: "other"})
	watcher, other := cs[0], cs[1]
	watcher.Join(channel, chanKey)
	watcher.Expect(t, wait, ircnet.Cmd("JOIN", channel))
	other.Join("#other", "")
	other.Expect(t, wait, ircnet.Cmd("JOIN", "#other"))

	d := startDesk(t, n, deskOptions{tweak: func(o *irc.Options) { o.MaxBodyLines = 1000 }})
	d.waitStatus(t, "joined a private channel", func(st irc.Status) bool { return st.Private })
	title := "Heap overflow" + injection + " \x01VERSION\x01 \x034,5red\x0f"
	body := hostileBody()
	if len(body) < 10*1024 {
		t.Fatalf("body is %d bytes", len(body))
	}
	start := time.Now()
	inc := d.open(t, title, body)
	post := d.waitDelivered(t, 1, 4*wait, func(dl delivery) bool { return dl.m.Kind == bot.MessageNewIncident })[0]
	if post.err != nil {
		t.Fatalf("post failed: %v", post.err)
	}
	t.Logf("%d-byte report posted in %v", len(body), time.Since(start).Round(time.Millisecond))

	// Delivery returned once the server had handled the last line; the
	// watcher, in the same channel, has it too once a PING comes back.
	watcher.Send("PING :sync")
	watcher.Expect(t, wait, ircnet.Cmd("PONG"))
	var got []string
	for _, l := range watcher.Lines() {
		if !fromBot("PRIVMSG", channel)(l) {
			continue
		}
		if n := wireLen(l); n > 512 {
			t.Errorf("%d-byte line: %q", n, l.Raw)
		}
		txt := l.Param(1)
		if strings.ContainsAny(txt, "\x00\x01\x02\x03\x0f\x11\x16\x1d\x1e\x1f\u202e") || !utf8.ValidString(txt) {
			t.Errorf("control or formatting byte reached the channel: %q", txt)
		}
		got = append(got, txt)
	}
	if len(got) == 0 {
		t.Fatal("nothing was posted")
	}
	// The subject is in the first line, made visible (the service already
	// turned its CR LF into a space).
	wantTitle := fmt.Sprintf(`New incident SEC-%d [unknown, new, SIG core] Heap overflow PRIVMSG #other :pwned \x01VERSION\x01 \x034,5red\x0f`, inc.ID)
	if got[0] != wantTitle {
		t.Errorf("first line\n got %q\nwant %q", got[0], wantTitle)
	}
	// The body is all there: its quoted lines put together give the
	// neutralised report back, byte for byte.
	var quoted, want strings.Builder
	for _, g := range got {
		if strings.HasPrefix(g, "| ") {
			quoted.WriteString(strings.TrimPrefix(g, "| "))
		}
	}
	for _, bl := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		want.WriteString(irc.Neutralize(strings.TrimSuffix(bl, "\r")))
	}
	if quoted.String() != want.String() {
		t.Errorf("the body did not arrive intact:\n got %d bytes\nwant %d bytes", quoted.Len(), want.Len())
	}
	if strings.Contains(strings.Join(got, "\n"), "[") && strings.Contains(strings.Join(got, "\n"), "more lines of the report") {
		t.Error("the body was cut although max_body_lines allows it all")
	}

	// Nothing reached #other, from the bot or anyone.
	other.Send("PING :sync")
	other.Expect(t, wait, ircnet.Cmd("PONG"))
	for _, l := range other.Lines() {
		if l.Command == "PRIVMSG" || l.Command == "NOTICE" && l.Nick() == botNick || strings.Contains(l.Raw, "pwned") {
			t.Errorf("#other received %s", l.Raw)
		}
	}
}
