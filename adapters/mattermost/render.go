package mattermost

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sectriage/sectriage/bot"
)

// Rendering bot.Text as Mattermost markdown. The server finds mentions and
// links (for notifications and previews) with its markdown parser, in text
// nodes only: code spans and fenced blocks are never searched. So untrusted
// text goes into code: inline spans into a code span, blocks into a fenced
// block, each delimited by a backtick run longer than any run inside, so
// nothing in the text can close it early.

const (
	// maxInlineRunes bounds one inline untrusted span (a title, an address):
	// longer ones are cut, so that output stays proportional and a single
	// line always fits in a post.
	maxInlineRunes = 1000
	// zwj after an '@' in trusted text keeps it from being a mention: the
	// server splits words on it, leaving a bare "@".
	zwj = "\u200d"
)

// mentionFunc returns the Mattermost username to ping for a declared
// person, or "" when they have no account there.
type mentionFunc func(person string) string

// block is one unit of a rendered message: a paragraph line, which must
// stay whole, or a fenced group of lines, which may be split across posts
// by closing and reopening the fence.
type block struct {
	fenced bool
	lines  []string // a paragraph has exactly one
	// pre is a paragraph's line as it would read inside a fence: the
	// fallback when the line is too long for a post, because cutting
	// markdown could cut a code span open.
	pre string
}

type segment struct {
	kind bot.SpanKind
	text string
}

// blocks turns t into paragraph lines and fenced groups. Lines whose plain
// text is aligned with runs of spaces (tables, timelines) become fenced
// groups too, because Mattermost collapses spaces in paragraphs.
func blocks(t bot.Text, mention mentionFunc) []block {
	var out []block
	var line []segment
	var pre []string // pending preformatted lines
	flushPre := func() {
		if len(pre) > 0 {
			out = append(out, block{fenced: true, lines: pre})
			pre = nil
		}
	}
	endLine := func() {
		if isAligned(line) {
			pre = append(pre, preformatted(line))
		} else {
			flushPre()
			out = append(out, block{lines: []string{paragraph(line, mention)}, pre: preformatted(line)})
		}
		line = nil
	}
	for _, s := range t.Spans {
		switch s.Kind {
		case bot.SpanBlock:
			if len(line) > 0 {
				endLine()
			}
			flushPre()
			body := strings.ReplaceAll(s.Text, "\r\n", "\n")
			body = strings.TrimRight(capRuns(bot.EscapeControl(body, true)), "\n")
			out = append(out, block{fenced: true, lines: strings.Split(body, "\n")})
		case bot.SpanPlain:
			parts := strings.Split(s.Text, "\n")
			for i, p := range parts {
				if i > 0 {
					endLine()
				}
				if p != "" {
					line = append(line, segment{bot.SpanPlain, p})
				}
			}
		default:
			line = append(line, segment{s.Kind, s.Text})
		}
	}
	if len(line) > 0 {
		endLine()
	}
	flushPre()
	return out
}

// isAligned reports whether a line's trusted text lays out columns.
func isAligned(line []segment) bool {
	for _, s := range line {
		if s.kind == bot.SpanPlain && strings.Contains(s.text, "  ") {
			return true
		}
	}
	return false
}

// preformatted renders a line that goes inside a fenced group: no markup
// applies there, so untrusted text only has its control characters made
// visible.
func preformatted(line []segment) string {
	var b strings.Builder
	for _, s := range line {
		switch s.kind {
		case bot.SpanPlain:
			b.WriteString(s.text)
		case bot.SpanMention:
			b.WriteString(s.text) // no ping from inside code anyway
		default:
			b.WriteString(inline(s.text))
		}
	}
	return b.String()
}

// paragraph renders a line of markdown.
func paragraph(line []segment, mention mentionFunc) string {
	var b strings.Builder
	for i, s := range line {
		switch s.kind {
		case bot.SpanPlain:
			b.WriteString(escapePlain(s.text, i == 0))
		case bot.SpanMention:
			if user := mention(s.text); user != "" {
				b.WriteString("@" + user)
			} else {
				b.WriteString("**" + escapePlain(s.text, false) + "**")
			}
		default:
			b.WriteString(codeSpan(inline(s.text)))
		}
	}
	return b.String()
}

// inline prepares an inline untrusted span: one line, visible control
// characters, bounded length.
func inline(s string) string {
	s = capRuns(bot.EscapeControl(s, false))
	if utf8.RuneCountInString(s) > maxInlineRunes {
		s = string([]rune(s)[:maxInlineRunes-1]) + "…"
	}
	return s
}

// codeSpan wraps s in backticks that nothing in s can close. The padding
// spaces are removed again by the parser (CommonMark 6.1).
func codeSpan(s string) string {
	if strings.TrimSpace(s) == "" {
		return s // only spaces: nothing to neutralise
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	return fence + " " + s + " " + fence
}

// fenceFor returns a backtick fence longer than any run in lines.
func fenceFor(lines []string) string {
	n := 0
	for _, l := range lines {
		n = max(n, longestRun(l, '`'))
	}
	return strings.Repeat("`", max(3, n+1))
}

// maxRun is the longest backtick run left in untrusted text, so that
// fences stay short: a longer run gets a zero-width space every maxRun
// backticks.
const maxRun = 16

func capRuns(s string) string {
	if longestRun(s, '`') <= maxRun {
		return s
	}
	var b strings.Builder
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			if run == maxRun {
				b.WriteString("\u200b")
				run = 0
			}
			run++
		} else {
			run = 0
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

// escapePlain makes trusted text render as written. It is trusted, but it
// may quote what a user typed ("Unknown command ..."), so it gets markdown
// escapes and no live mentions either.
func escapePlain(s string, lineStart bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '_', '~', '[', ']', '<', '>', '|':
			b.WriteByte('\\')
		case '#', '-', '+', '=':
			if lineStart && i == 0 {
				b.WriteByte('\\')
			}
		case '.', ')':
			// "1." or "1)" at the start of a line would start a list.
			if lineStart && i > 0 && allDigits(s[:i]) {
				b.WriteByte('\\')
			}
		}
		b.WriteByte(c)
		if c == '@' && i+1 < len(s) {
			if r, _ := utf8.DecodeRuneInString(s[i+1:]); isWordRune(r) {
				b.WriteString(zwj)
			}
		}
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isWordRune is what the server keeps inside a mention word.
func isWordRune(r rune) bool {
	return r == '.' || r == '-' || r == '_' || r == ':' || r == '@' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// render returns t as one markdown string, however long.
func render(t bot.Text, mention mentionFunc) string {
	parts := pack(blocks(t, mention), -1)
	if len(parts) == 0 {
		return ""
	}
	return parts[0]
}

// pack lays blocks out in posts of at most limit runes (no limit if
// limit < 0). A fenced group is closed at the end of a post and reopened at
// the start of the next; a paragraph line too long for a post is cut.
func pack(bs []block, limit int) []string {
	var posts []string
	var cur strings.Builder
	n := 0 // runes in cur
	flush := func() {
		if n > 0 {
			posts = append(posts, strings.TrimSuffix(cur.String(), "\n"))
		}
		cur.Reset()
		n = 0
	}
	add := func(s string) {
		cur.WriteString(s)
		cur.WriteByte('\n')
		n += utf8.RuneCountInString(s) + 1
	}
	fits := func(runes int) bool { return limit < 0 || n+runes <= limit }
	for _, b := range bs {
		if !b.fenced {
			l := b.lines[0]
			r := utf8.RuneCountInString(l)
			if limit > 0 && r+1 > limit {
				b = block{fenced: true, lines: []string{b.pre}}
			} else {
				if !fits(r + 1) {
					flush()
				}
				add(l)
				continue
			}
		}
		fence := fenceFor(b.lines)
		open, closing := fence+"text", fence
		oc, cc := utf8.RuneCountInString(open)+1, utf8.RuneCountInString(closing)+1
		if !fits(oc + cc + 2) {
			flush()
		}
		add(open)
		for _, l := range b.lines {
			rest := []rune(l)
			for {
				if limit < 0 {
					add(string(rest))
					break
				}
				// Keep room for the closing fence: n+cc <= limit holds.
				room := limit - n - cc - 1
				if len(rest) <= room {
					add(string(rest))
					break
				}
				if room > 0 {
					add(string(rest[:room]))
					rest = rest[room:]
				}
				add(closing)
				flush()
				add(open)
			}
		}
		add(closing)
	}
	flush()
	return posts
}
