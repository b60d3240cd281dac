package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// FuzzCommandLine feeds arbitrary lines to the parser and the registry, as
// any team member (and any outsider) could type them. Invariants: no panic
// and no internal error; the parser either fails or gives words that, when
// quoted back, parse to the same words; an outsider is refused with the
// fixed refusal and nothing else; a reply is bounded and holds no raw
// control characters from the input.
func FuzzCommandLine(f *testing.F) {
	for _, seed := range []string{
		"claim 1", "note 1 \"it is \\\"bad\\\"\"", "close 2 duplicate of SEC-1", "severity 1 CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"severity 1 CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "embargo 1 2026-12-01T15:00+01:00",
		"due 1 fix 3d", "list overdue", "show #3", "cve 1 CVE-2026-12345", "oncall core at 2026-12-24", "'unterminated",
		"note 1 \x1b[31mred\x00\r\nPRIVMSG #x :pwned", "help \u202e", "route 1 \xff\xfe", "cover core bob from now until 3d",
		"away erin until 1w", "snooze 1 2d", "state 1 fixing", "reply 1 thanks", strings.Repeat("a ", 3000),
	} {
		f.Add(seed)
	}
	outsider := bot.Actor{Platform: bot.PlatformIRC}
	f.Fuzz(func(t *testing.T, line string) {
		// A fresh world each time: a finding must reproduce from its input
		// alone, not from what earlier inputs left in the database. In
		// memory, so that a world costs no file to create, sync and remove.
		w := newMemoryWorld(t)
		alice := bot.Actor{Person: w.svc.Settings().People.ByName("alice"), Platform: bot.PlatformConsole}
		if words, err := commands.Split(line); err == nil {
			again, err := commands.Split(quote(words))
			if err != nil || strings.Join(again, "\x00") != strings.Join(words, "\x00") {
				t.Fatalf("Split(%q) = %q, but re-quoted it parses to %q (%v)", line, words, again, err)
			}
		}
		ctx := context.Background()
		r := w.reg.Run(ctx, outsider, line, true)
		if !r.Failed || r.Kind != bot.KindForbidden || bot.RenderPlain(r.Text) != commands.OutsiderRefusal {
			t.Fatalf("outsider got %q", bot.RenderPlain(r.Text))
		}
		r = w.reg.Run(ctx, alice, line, true)
		if r.Kind == bot.KindInternal {
			t.Fatalf("%q: internal error: %s", line, bot.RenderPlain(r.Text))
		}
		out := bot.RenderPlain(r.Text)
		if len(out) > 64*1024+8*len(line) {
			t.Fatalf("reply of %d bytes to a %d-byte line", len(out), len(line))
		}
		for _, c := range out {
			if c == 0 || c == '\r' || c == 0x1b || c == 0x7f || (c >= 0x202a && c <= 0x202e) {
				t.Fatalf("%q: reply carries a raw control character %U: %q", line, c, out)
			}
		}
	})
}

// quote writes words back as a command line.
func quote(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
	}
	return strings.Join(parts, " ")
}
