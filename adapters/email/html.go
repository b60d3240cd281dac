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
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
