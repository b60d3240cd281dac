package irc

import (
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// line is one logical line of a message before it is cut to the server's
// line length. Block lines are report content: they are quoted, counted
// against max_body_lines and never merged with the bot's own words.
type line struct {
	text  string
	block bool
}

// blockQuote starts every physical line of a report body, so that it reads
// as a quotation and no line of it can look like a command to another bot.
const blockQuote = "| "

// renderText turns a message into logical IRC lines. Every byte the IRC
// protocol or clients interpret (CR, LF, NUL, CTCP \x01, the formatting
// codes \x02 \x03 \x0f \x11 \x16 \x1d \x1e \x1f and the rest of C0/C1) is
// made visible as \xNN in untrusted text, so a report shows what it
// contained without doing it: colour digits after an escaped \x03 are just
// digits. Trusted text is treated the same way, in case a bug lets
// something through. mention turns a person's name into what pings them.
func renderText(t bot.Text, mention func(person string) string) []line {
	var out []line
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimRight(cur.String(), " "); s != "" {
			out = append(out, line{text: s})
		}
		cur.Reset()
	}
	for _, s := range t.Spans {
		switch s.Kind {
		case bot.SpanPlain:
			parts := strings.Split(s.Text, "\n")
			for i, p := range parts {
				if i > 0 {
					flush()
				}
				cur.WriteString(neutralize(p))
			}
		case bot.SpanUntrusted:
			cur.WriteString(neutralize(s.Text))
		case bot.SpanMention:
			cur.WriteString(neutralize(mention(s.Text)))
		case bot.SpanBlock:
			flush()
			body := strings.TrimRight(s.Text, "\r\n")
			if body == "" {
				continue
			}
			for _, l := range strings.Split(body, "\n") {
				out = append(out, line{text: neutralize(strings.TrimSuffix(l, "\r")), block: true})
			}
		}
	}
	flush()
	return out
}

// neutralize escapes everything that is not printable text. It builds on
// bot.EscapeControl (C0, C1, DEL, invalid UTF-8, bidi overrides) and adds
// the Unicode line and paragraph separators, which some clients break
// lines on, and the tab, which clients render unpredictably.
func neutralize(s string) string {
	s = bot.EscapeControl(s, false)
	if strings.ContainsAny(s, "\u2028\u2029\t") {
		s = strings.NewReplacer("\u2028", `\u2028`, "\u2029", `\u2029`, "\t", "    ").Replace(s)
	}
	return s
}

// safeNick keeps only the characters a nick or account may hold, for
// mentions built from server data.
func safeNick(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune(`-_[]\^{}|`+"`", r):
			return r
		}
		return -1
	}, s)
}
