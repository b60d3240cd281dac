package irc

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxLine is the IRC line limit without the final CR LF (RFC 1459: 512
// bytes in all). It applies to the line as the server relays it, with its
// ":nick!user@host " prefix in front, which is why the budget for text
// depends on who we are and where the line goes.
const maxLine = 510

// minBudget is the least room for text a line must leave; below it the
// target name is absurd and nothing is sent.
const minBudget = 64

// textBudget is how many bytes of text fit in
// ":<prefix> <command> <target> :<text>" within maxLine.
func textBudget(prefixLen int, command, target string) int {
	return maxLine - (1 + prefixLen + 1) - (len(command) + 1 + len(target) + 2)
}

// splitText cuts s into pieces of at most max bytes whose concatenation is
// s. It never cuts inside a UTF-8 sequence, and prefers to cut before a
// space in the last quarter of a piece so words stay whole.
func splitText(s string, max int) []string {
	if max < utf8.UTFMax {
		max = utf8.UTFMax // always make progress, even on 4-byte runes
	}
	var out []string
	for len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 {
			cut = max // not UTF-8 at all: bytes are all we can count
		}
		if lo := max * 3 / 4; lo < cut {
			if sp := strings.LastIndexByte(s[lo:cut], ' '); sp >= 0 && lo+sp > 0 {
				cut = lo + sp
			}
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

// physical is one line to send and whether it is report content.
type physical struct {
	text  string
	block bool
}

// layout splits logical lines to fit budget and cuts report content after
// maxBody physical lines (0: no report content at all), replacing the rest
// with one line that says how much is missing and where to read it.
func layout(lines []line, budget, maxBody int, pointer string) ([]physical, error) {
	if budget < minBudget {
		return nil, fmt.Errorf("only %d bytes per line are left for text", budget)
	}
	var out []physical
	body, cut := 0, 0
	notice := func(n int) []physical {
		var ps []physical
		for _, p := range splitText(cutNotice(n, pointer), budget) {
			ps = append(ps, physical{text: p})
		}
		return ps
	}
	for _, l := range lines {
		if !l.block {
			if cut > 0 {
				out = append(out, notice(cut)...)
				cut = 0
			}
			for _, p := range splitText(l.text, budget) {
				out = append(out, physical{text: p})
			}
			continue
		}
		pieces := splitText(l.text, budget-len(blockQuote))
		for _, p := range pieces {
			if body >= maxBody {
				cut++
				continue
			}
			body++
			if p == "" {
				out = append(out, physical{text: strings.TrimSpace(blockQuote), block: true})
			} else {
				out = append(out, physical{text: blockQuote + p, block: true})
			}
		}
	}
	if cut > 0 {
		out = append(out, notice(cut)...)
	}
	return out, nil
}

func cutNotice(n int, pointer string) string {
	s := fmt.Sprintf("[%d more lines of the report are not shown on IRC", n)
	if pointer != "" {
		s += "; the full text: " + pointer
	}
	return s + "]"
}
