package commands

import (
	"fmt"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

func help(r *Registry, req *Request) (Reply, error) {
	var t bot.Text
	if len(req.Args) == 1 {
		c := r.Lookup(req.Args[0])
		if c == nil {
			return Reply{}, invalid("There is no command %q; help lists them all.", bot.EscapeControl(req.Args[0], false))
		}
		t.Plain("Usage: " + c.Usage()).Line()
		t.Plain(upperFirst(c.Summary) + ".")
		if c.Help != "" {
			t.Line().Plain(c.Help)
		}
		if len(c.Aliases) > 0 {
			t.Line().Plain("Also: " + strings.Join(c.Aliases, ", "))
		}
		t.Line().Plain("Who: " + c.Permission.Who() + ".")
		return Reply{Text: t}, nil
	}
	t.Plain("Commands (ids may be written 42, #42 or SEC-42; dates 2026-12-01 or 3d, 12h):")
	width := 0
	for _, c := range r.Commands() {
		width = max(width, len(c.Usage()))
	}
	for _, c := range r.Commands() {
		t.Line().Plain(fmt.Sprintf("  %-*s  %s", width, c.Usage(), c.Summary))
	}
	t.Line().Plain("help <command> tells more.")
	return Reply{Text: t}, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
