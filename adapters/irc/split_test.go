package irc

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sectriage/sectriage/bot"
)

func TestSplitTextNeverCutsARune(t *testing.T) {
	// "€" is 3 bytes; with 10 bytes a line, the 4th euro straddles the
	// boundary at byte 10 and must move whole to the next piece.
	s := strings.Repeat("€", 7) // 21 bytes
	got := splitText("x"+s, 10)
	for _, p := range got {
		if !utf8.ValidString(p) || len(p) > 10 {
			t.Fatalf("piece %q: valid %v, %d bytes", p, utf8.ValidString(p), len(p))
		}
	}
	if strings.Join(got, "") != "x"+s {
		t.Fatalf("pieces %q do not give the text back", got)
	}
	if got[0] != "x€€€" {
		t.Fatalf("first piece %q, want x€€€ (10 bytes)", got[0])
	}
	// 4-byte runes with a 5-byte budget: one per piece, never empty.
	emoji := strings.Repeat("🔥", 3)
	if got := splitText(emoji, 5); len(got) != 3 || got[1] != "🔥" {
		t.Fatalf("emoji split %q", got)
	}
}

func TestSplitTextPrefersSpaces(t *testing.T) {
	s := "the quick brown fox jumps over the lazy dog"
	got := splitText(s, 16)
	if strings.Join(got, "") != s {
		t.Fatalf("lost text: %q", got)
	}
	if got[0] != "the quick brown" || got[1] != " fox jumps over" {
		t.Fatalf("want cuts before spaces, got %q", got)
	}
	// No space near the end: cut hard at the budget.
	long := strings.Repeat("a", 40)
	if got := splitText(long, 16); len(got) != 3 || len(got[0]) != 16 {
		t.Fatalf("hard cut: %q", got)
	}
}

func TestTextBudgetFitsTheWireLine(t *testing.T) {
	prefix := "sectriage!sectriage@127.0.0.1"
	budget := textBudget(len(prefix), "PRIVMSG", "#example-security")
	text := strings.Repeat("é", budget) // 2 bytes each: far too long
	for _, p := range splitText(text, budget) {
		wire := ":" + prefix + " PRIVMSG #example-security :" + p + "\r\n"
		if len(wire) > 512 {
			t.Fatalf("wire line %d bytes", len(wire))
		}
	}
	full := ":" + prefix + " PRIVMSG #example-security :" + strings.Repeat("a", budget) + "\r\n"
	if len(full) != 512 {
		t.Fatalf("a full line is %d bytes on the wire, want exactly 512", len(full))
	}
}

func TestLayoutCutsReportBodies(t *testing.T) {
	var txt bot.Text
	txt.Plain("New incident SEC-7").Line().Plain("Report:")
	txt.Block("one\ntwo\n" + strings.Repeat("x", 150) + "\nfour\nfive\n")
	lines := renderText(txt, func(p string) string { return p })
	got, err := layout(lines, 100, 3, "/sec show 7 in Mattermost")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, p := range got {
		texts = append(texts, p.text)
	}
	want := []string{
		"New incident SEC-7", "Report:", "| one", "| two", "| " + strings.Repeat("x", 98),
		"[3 more lines of the report are not shown on IRC; the full text: /sec show 7 in Mattermost]",
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("layout:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	// max_body_lines = 0: no report content at all, only the pointer.
	got, _ = layout(lines, 100, 0, "")
	if len(got) != 3 || got[2].text != "[6 more lines of the report are not shown on IRC]" {
		t.Fatalf("no body: %+v", got)
	}
	if _, err := layout(lines, 20, 3, ""); err == nil {
		t.Fatal("a 20-byte budget must be refused")
	}
}
