package mattermost

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/shared/markdown"

	"github.com/sectriage/sectriage/bot"
)

func noMentions(string) string { return "" }

func testMentions(person string) string {
	if person == "alice" {
		return "alice.mm"
	}
	return ""
}

// inspection is what the server's own markdown parser finds in a post:
// the text it searches for mentions (adjacent text nodes joined, as the
// notification code does), links, and fenced code blocks.
type inspection struct {
	texts  []string
	links  []string
	fences []*markdown.FencedCode
	spans  []string
}

func inspect(md string) inspection {
	var in inspection
	buf := ""
	markdown.Inspect(md, func(node any) bool {
		if t, ok := node.(*markdown.Text); ok {
			buf += t.Text
			return false
		}
		if buf != "" {
			in.texts = append(in.texts, buf)
			buf = ""
		}
		switch v := node.(type) {
		case *markdown.Autolink:
			in.links = append(in.links, v.Destination())
		case *markdown.InlineLink:
			in.links = append(in.links, v.Destination())
		case *markdown.ReferenceLink:
			in.links = append(in.links, v.ReferenceDefinition.Destination())
		case *markdown.InlineImage:
			in.links = append(in.links, v.Destination())
		case *markdown.ReferenceImage:
			in.links = append(in.links, v.ReferenceDefinition.Destination())
		case *markdown.FencedCode:
			in.fences = append(in.fences, v)
		case *markdown.CodeSpan:
			in.spans = append(in.spans, v.Code)
		}
		return true
	})
	if buf != "" {
		in.texts = append(in.texts, buf)
	}
	return in
}

// liveMentions splits text into words the way the server's mention parser
// does and returns those that would be mentions: "@" and a name.
func liveMentions(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(text, func(c rune) bool {
		return !(c == ':' || c == '.' || c == '-' || c == '_' || c == '@' || unicode.IsLetter(c) || unicode.IsNumber(c))
	}) {
		if i := strings.Index(w, "@"); i >= 0 && i+1 < len(w) {
			if r, _ := utf8.DecodeRuneInString(w[i+1:]); unicode.IsLetter(r) || unicode.IsNumber(r) {
				out = append(out, w)
			}
		}
	}
	return out
}

const hostile = "Hi @channel @all @here @alice.mm and @bob, see [this](https://evil.example/x) " +
	"https://evil.example/y www.evil.example ![img](https://evil.example/i.png) <https://evil.example/z> " +
	"~town-square #hashtag **bold** ```\n```\n@channel after a fence\n    indented @all\n> quote @here\n" +
	"- list @bob\n1. one\n| a | b |\n|---|---|\n| @channel | x |\n`` ` ``\n\x1b[31mred\r\n\u202eevil\x00"

func TestRenderNeutralisesHostileText(t *testing.T) {
	var tx bot.Text
	tx.Plain("New incident SEC-1 ").Untrusted(hostile).Line()
	tx.Plain("Reporter: ").Untrusted("@channel <mallory@example.org>").Line()
	tx.Block(hostile)
	tx.Plain("Commands: claim 1").Line()
	tx.Mention("alice").Plain(" please look; ").Mention("bob").Plain(" too")
	md := render(tx, testMentions)
	in := inspect(md)
	if len(in.links) > 0 {
		t.Errorf("links in the rendering: %q\n%s", in.links, md)
	}
	var mentions []string
	for _, text := range in.texts {
		mentions = append(mentions, liveMentions(text)...)
	}
	if strings.Join(mentions, " ") != "@alice.mm" {
		t.Errorf("live mentions %q, want only the deliberate @alice.mm\n%s", mentions, md)
	}
	if len(in.fences) != 1 {
		t.Fatalf("%d fenced blocks, want 1\n%s", len(in.fences), md)
	}
	want := strings.TrimRight(bot.EscapeControl(strings.ReplaceAll(hostile, "\r\n", "\n"), true), "\n") + "\n"
	if got := in.fences[0].Code(); got != want {
		t.Errorf("fenced block holds\n%q\nwant\n%q", got, want)
	}
	if len(in.spans) != 2 || in.spans[1] != "@channel <mallory@example.org>" {
		t.Errorf("code spans %q", in.spans)
	}
	if !strings.Contains(md, "**bob**") {
		t.Errorf("a person without an account should be named, not pinged:\n%s", md)
	}
}

func TestRenderAlignedLinesAsCode(t *testing.T) {
	var tx bot.Text
	tx.Plain("2 open incidents:\nSEC-1   new  core  · ").Untrusted("Heap @channel").Line()
	tx.Plain("SEC-2   new  web   · ").Untrusted("XSS ``` here").Line()
	tx.Plain("help <command> tells more.")
	md := render(tx, noMentions)
	in := inspect(md)
	if len(in.fences) != 1 || !strings.Contains(in.fences[0].Code(), "SEC-1   new  core  · Heap @channel\n") ||
		!strings.Contains(in.fences[0].Code(), "XSS ``` here") {
		t.Fatalf("table not kept in one code block:\n%s", md)
	}
	if !strings.HasSuffix(md, "help \\<command\\> tells more.") {
		t.Errorf("last line %q", md)
	}
}

func TestPackSplitsFencesSafely(t *testing.T) {
	body := strings.Repeat("line with ``` and @channel in it\n", 400) + strings.Repeat("x", 3000)
	var tx bot.Text
	tx.Plain("Report of SEC-7:").Line().Block(body)
	const limit = 1000
	posts := pack(blocks(tx, noMentions), limit)
	if len(posts) < 15 {
		t.Fatalf("%d posts", len(posts))
	}
	var code strings.Builder
	for i, p := range posts {
		if n := utf8.RuneCountInString(p); n > limit {
			t.Fatalf("post %d has %d runes", i, n)
		}
		in := inspect(p)
		if len(in.fences) != 1 {
			t.Fatalf("post %d has %d fences:\n%s", i, len(in.fences), p)
		}
		for _, text := range in.texts {
			if m := liveMentions(text); len(m) > 0 {
				t.Fatalf("post %d mentions %q", i, m)
			}
		}
		code.WriteString(in.fences[0].Code())
	}
	got := strings.ReplaceAll(code.String(), "\n", "")
	if want := strings.ReplaceAll(body, "\n", ""); got != want {
		t.Errorf("the split lost or changed text: %d runes, want %d", len(got), len(want))
	}
}

func TestEscapePlain(t *testing.T) {
	for in, want := range map[string]string{
		"Unknown command \"@channel\"": "Unknown command \"@" + zwj + "channel\"",
		"# not a heading":              "\\# not a heading",
		"1. not a list":                "1\\. not a list",
		"a `b` [c](d) *e* _f_ <g>":     "a \\`b\\` \\[c\\](d) \\*e\\* \\_f\\_ \\<g\\>",
		"mail@example.org":             "mail@" + zwj + "example.org",
		"SEC-1 (new)":                  "SEC-1 (new)",
	} {
		if got := escapePlain(in, true); got != want {
			t.Errorf("escapePlain(%q) = %q, want %q", in, got, want)
		}
	}
}

// noBlanks drops spaces and tabs: the parser reports a code line's
// leading whitespace as indentation, with its own tab expansion, which
// changes nothing that matters here.
func noBlanks(s string) string { return strings.NewReplacer(" ", "", "\t", "").Replace(s) }

// FuzzMattermostNeutralize feeds arbitrary untrusted text, inline and as a
// block, and checks with Mattermost's own markdown parser that nothing
// would ping or link, that the block's fence holds until its end, and that
// the output stays proportional to the input.
func FuzzMattermostNeutralize(f *testing.F) {
	for _, s := range []string{hostile, "", "`", "```", "````\n```", "@channel", "a\n```\n@all", " ` ", "@", "\r\n\r\n",
		strings.Repeat("`", 40), "~~~\n@here\n~~~", "<@U123>", "[x]: https://evil.example\n[x]"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, title, body string) {
		var tx bot.Text
		tx.Plain("New incident SEC-1 [new] ").Untrusted(title).Line()
		tx.Plain("Body:").Line().Block(body)
		tx.Plain("Commands: claim 1 · ").Untrusted(title)
		md := render(tx, noMentions)
		if n, in := len(md), len(title)*2+len(body); n > 8*in+4096 {
			t.Fatalf("output of %d bytes for %d bytes of input", n, in)
		}
		in := inspect(md)
		for _, text := range in.texts {
			if m := liveMentions(text); len(m) > 0 {
				t.Fatalf("live mentions %q in\n%s", m, md)
			}
		}
		if len(in.links) > 0 {
			t.Fatalf("links %q in\n%s", in.links, md)
		}
		if len(in.fences) != 1 {
			t.Fatalf("%d fenced blocks, want 1:\n%s", len(in.fences), md)
		}
		want := strings.TrimRight(capRuns(bot.EscapeControl(strings.ReplaceAll(body, "\r\n", "\n"), true)), "\n") + "\n"
		if got := in.fences[0].Code(); noBlanks(got) != noBlanks(want) {
			t.Fatalf("the fence holds\n%q\nwant\n%q", got, want)
		}
		if !strings.HasSuffix(strings.TrimRight(md, "\n"), codeSpan(inline(title))) && strings.TrimSpace(inline(title)) != "" {
			t.Fatalf("the last line lost its title:\n%s", md)
		}
		for i, p := range pack(blocks(tx, noMentions), 200) {
			if utf8.RuneCountInString(p) > 200 {
				t.Fatalf("post %d over the limit", i)
			}
			for _, text := range inspect(p).texts {
				if m := liveMentions(text); len(m) > 0 {
					t.Fatalf("post %d: live mentions %q", i, m)
				}
			}
		}
	})
}
