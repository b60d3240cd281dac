package email

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// htmlToText turns an HTML body into plain text for the team to read. It
// is never rendered: scripts, styles, images and remote content are
// dropped, links are written out as text (so nobody is tricked into
// following one), and block elements become line breaks.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	skip := 0 // depth inside script/style/head/title
	pre := 0
	type anchor struct {
		url   string
		start int
	}
	var href []anchor
	newline := func() {
		s := b.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidyText(b.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := string(z.Text())
			if pre == 0 {
				text = collapseSpace(text)
				if strings.HasSuffix(b.String(), "\n") {
					text = strings.TrimLeft(text, " ")
				}
			}
			b.WriteString(text)
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			end := tt == html.EndTagToken
			switch tag {
			case "script", "style", "head", "title", "noscript", "template":
				if tt == html.StartTagToken {
					skip++
				} else if end && skip > 0 {
					skip--
				}
			case "pre":
				newline()
				if tt == html.StartTagToken {
					pre++
				} else if end && pre > 0 {
					pre--
				}
			case "br":
				b.WriteByte('\n')
			case "p", "div", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section", "article", "hr":
				newline()
			case "li":
				newline()
				if !end {
					b.WriteString("- ")
				}
			case "td", "th":
				if !end {
					b.WriteByte(' ')
				}
			case "a":
				if tt == html.StartTagToken {
					url := ""
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(bytes.ToLower(k)) == "href" {
							url = string(v)
						}
					}
					href = append(href, anchor{url, b.Len()})
				} else if end && len(href) > 0 {
					a := href[len(href)-1]
					href = href[:len(href)-1]
					// The target is written out unless the link text already is it.
					if a.url != "" && !strings.HasPrefix(a.url, "#") && linkText(b.String(), a.start) != a.url {
						b.WriteString(" <" + a.url + ">")
					}
				}
			}
		}
	}
}

// linkText is the text written since start, if short enough to be a
// link's text (comparing longer runs would make nested links quadratic).
func linkText(s string, start int) string {
	if start > len(s) || len(s)-start > 2048 {
		return ""
	}
	return strings.TrimSpace(s[start:])
}

// collapseSpace turns runs of white space into one space, as a browser would.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// tidyText trims trailing spaces of lines and collapses blank-line runs.
// It takes the bytes of a part as well as a string: the text it returns
// is then the only copy made. Text that needs no change but at its ends is
// returned as it is (a string) or copied once (bytes).
func tidyText[T string | []byte](s T) string {
	if isTidy(s) {
		return strings.TrimSpace(string(s))
	}
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	for i, rest := 0, s; ; i++ {
		line, after, more := cutLine(rest)
		line = trimLineEnd(line)
		if len(line) == 0 {
			blank++
		} else {
			blank = 0
		}
		if blank <= 1 {
			if i > 0 { // the first line is always kept
				b.WriteByte('\n')
			}
			switch l := any(line).(type) {
			case string:
				b.WriteString(l)
			case []byte:
				b.Write(l)
			}
		}
		if !more {
			break
		}
		rest = after
	}
	return strings.TrimSpace(b.String())
}

// isTidy reports whether tidyText would change s only at its ends: no
// line ends in white space, and no two lines in a row are empty.
func isTidy[T string | []byte](s T) bool {
	blank := 0
	for rest := s; ; {
		line, after, more := cutLine(rest)
		if len(line) == 0 {
			if blank++; blank > 1 {
				return false
			}
		} else if c := line[len(line)-1]; c == ' ' || c == '\t' || c == '\r' {
			return false
		} else {
			blank = 0
		}
		if !more {
			return true
		}
		rest = after
	}
}

// cutLine is strings.Cut(s, "\n") for text of either kind.
func cutLine[T string | []byte](s T) (line, rest T, found bool) {
	var i int
	switch s := any(s).(type) {
	case string:
		i = strings.IndexByte(s, '\n')
	case []byte:
		i = bytes.IndexByte(s, '\n')
	}
	if i < 0 {
		return s, s[len(s):], false
	}
	return s[:i], s[i+1:], true
}

// trimLineEnd drops the spaces, tabs and carriage returns ending a line.
func trimLineEnd[T string | []byte](s T) T {
	n := len(s)
	for n > 0 && (s[n-1] == ' ' || s[n-1] == '\t' || s[n-1] == '\r') {
		n--
	}
	return s[:n]
}
