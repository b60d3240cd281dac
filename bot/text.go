package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SpanKind says how a piece of a message must be treated by a platform.
type SpanKind uint8

const (
	// SpanPlain is text sectriage wrote itself: safe as it is.
	SpanPlain SpanKind = iota
	// SpanUntrusted is inline text from outside (a subject, a name, a note):
	// every platform neutralises it (no mentions, markup, control codes).
	SpanUntrusted
	// SpanMention is a deliberate ping of a declared person; Text holds the
	// person's name and each platform turns it into its own mention.
	SpanMention
	// SpanBlock is multi-line untrusted text (a report body): rendered as an
	// inert block (a code fence on Mattermost, cut and split on IRC).
	SpanBlock
)

// Span is one piece of a message.
type Span struct {
	Kind SpanKind `json:"k"`
	Text string   `json:"t"`
}

// Text is a message built from spans, so that the command layer can say
// what is trusted without knowing any platform's markup. Newlines in plain
// spans separate lines.
type Text struct {
	Spans []Span `json:"s"`
}

// Plain appends trusted text.
func (t *Text) Plain(s string) *Text { return t.add(SpanPlain, s) }

// Untrusted appends text from outside the team's control.
func (t *Text) Untrusted(s string) *Text { return t.add(SpanUntrusted, s) }

// Mention appends a ping of the named person.
func (t *Text) Mention(person string) *Text { return t.add(SpanMention, person) }

// Block appends a multi-line untrusted block on its own lines.
func (t *Text) Block(s string) *Text { return t.add(SpanBlock, s) }

// Line ends the current line.
func (t *Text) Line() *Text { return t.add(SpanPlain, "\n") }

// Append adds all spans of u.
func (t *Text) Append(u Text) *Text {
	t.Spans = append(t.Spans, u.Spans...)
	return t
}

func (t *Text) add(k SpanKind, s string) *Text {
	if s == "" && k != SpanBlock {
		return t
	}
	// Merge adjacent plain spans: renderers and golden files stay simple.
	if n := len(t.Spans); k == SpanPlain && n > 0 && t.Spans[n-1].Kind == SpanPlain {
		t.Spans[n-1].Text += s
		return t
	}
	if t.Spans == nil {
		// Most texts have a few spans: one allocation, not one per doubling.
		t.Spans = make([]Span, 0, 4)
	}
	t.Spans = append(t.Spans, Span{Kind: k, Text: s})
	return t
}

// PlainText makes a Text of one trusted string.
func PlainText(s string) Text {
	var t Text
	t.Plain(s)
	return t
}

// IsEmpty reports whether t holds no text.
func (t Text) IsEmpty() bool { return len(t.Spans) == 0 }

// RenderPlain renders t for a terminal, a log-free CLI reply or a test: plain
// text as is, mentions as @name, untrusted text with control characters made
// visible (so a report cannot move the cursor or clear a screen), blocks
// indented under a rule.
func RenderPlain(t Text) string {
	var b strings.Builder
	for _, s := range t.Spans {
		switch s.Kind {
		case SpanPlain:
			b.WriteString(s.Text)
		case SpanMention:
			b.WriteString("@" + s.Text)
		case SpanUntrusted:
			b.WriteString(EscapeControl(s.Text, false))
		case SpanBlock:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
				b.WriteString("\n")
			}
			for _, line := range strings.Split(strings.TrimRight(s.Text, "\n"), "\n") {
				b.WriteString("  | ")
				b.WriteString(EscapeControl(strings.TrimRight(line, "\r"), false))
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

// EscapeControl makes every control character and invalid byte visible
// (\x1b, \r, \u202e ...). With keepNewlines, "\n" survives as a line break.
// It also escapes Unicode bidi overrides, which can reorder what a reader
// sees ("Trojan Source").
func EscapeControl(s string, keepNewlines bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x` + hex2(s[i]))
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte('\t')
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x` + hex2(byte(r)))
		case isBidiControl(r) || (unicode.Is(unicode.Cc, r)):
			b.WriteString(`\u` + hex4(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

const hexDigits = "0123456789abcdef"

func hex2(c byte) string { return string([]byte{hexDigits[c>>4], hexDigits[c&15]}) }

func hex4(r rune) string {
	return string([]byte{hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15]})
}
