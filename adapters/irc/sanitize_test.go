package irc

import (
	"strings"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

func TestRenderNeutralisesUntrustedText(t *testing.T) {
	hostile := "x\r\nPRIVMSG #other :pwned \x01VERSION\x01 \x034,5red\x0f \x02b\x1d\x1e\x1f\x11\x16 nul\x00 \u202eevil\u2028"
	var txt bot.Text
	txt.Plain("New incident SEC-1 ").Untrusted(hostile).Line().Mention("alice").Plain(" please look")
	txt.Block(hostile + "\nsecond\r\n")
	lines := renderText(txt, func(p string) string { return map[string]string{"alice": "alice_\r\n"}[p] })
	want := []line{
		{text: `New incident SEC-1 x\x0d\x0aPRIVMSG #other :pwned \x01VERSION\x01 \x034,5red\x0f \x02b\x1d\x1e\x1f\x11\x16 nul\x00 \u202eevil\u2028`},
		{text: `alice_\x0d\x0a please look`},
		// In a body CR LF is a line ending: the injected command becomes a
		// quoted line of text of its own.
		{text: "x", block: true},
		{text: `PRIVMSG #other :pwned \x01VERSION\x01 \x034,5red\x0f \x02b\x1d\x1e\x1f\x11\x16 nul\x00 \u202eevil\u2028`, block: true},
		{text: "second", block: true},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines: %+v", len(lines), lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, lines[i], want[i])
		}
		for _, c := range []string{"\r", "\n", "\x00", "\x01", "\x02", "\x03", "\x0f", "\x16", "\x1d", "\x1e", "\x1f", "\x11", "\u202e", "\u2028"} {
			if strings.Contains(lines[i].text, c) {
				t.Errorf("line %d still holds %q", i, c)
			}
		}
	}
}

func TestRenderPlainLinesAndBlankLines(t *testing.T) {
	var txt bot.Text
	txt.Plain("a\n\nb").Line().Line().Plain("c   ")
	got := renderText(txt, nil)
	if len(got) != 3 || got[0].text != "a" || got[1].text != "b" || got[2].text != "c" {
		t.Fatalf("IRC has no empty lines: got %+v", got)
	}
}

func TestSafeNick(t *testing.T) {
	if got := safeNick("al\x01ice[m] :x\r\n"); got != "alice[m]x" {
		t.Fatalf("safeNick = %q", got)
	}
}
