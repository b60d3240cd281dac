package commands

import (
	"strings"
	"unicode/utf8"
)

// listWidths are the least widths of list's columns (id, state, severity,
// SIG, assignee, due): the usual values fit, so lines keep their shape
// from one list to the next.
var listWidths = []int{7, 9, 8, 10, 10, 0}

// alignColumns pads each column to the widest value in it, or to its
// least width, so a long value ("closed (fixed)", a long SIG name) moves
// the whole column instead of breaking its row. Every column is padded:
// list puts the title after the last one.
func alignColumns(rows [][]string, min []int) []string {
	widths := append([]int(nil), min...)
	for _, r := range rows {
		for j, v := range r {
			if j >= len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], utf8.RuneCountInString(v))
		}
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		var b strings.Builder
		for j, v := range r {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(v)
			b.WriteString(strings.Repeat(" ", widths[j]-utf8.RuneCountInString(v)))
		}
		out[i] = b.String()
	}
	return out
}
