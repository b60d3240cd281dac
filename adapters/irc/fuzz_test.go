package irc

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sectriage/sectriage/bot"
)

// FuzzIRCSanitizeSplit feeds arbitrary subjects, bodies and channel names
// through rendering and layout as a new-incident post would go, and checks
// what reaches the wire: no CR, LF, NUL or CTCP byte, valid UTF-8, every
// line within 512 bytes with the server's prefix, and output bounded by the
// input (escaping grows a byte to at most 6) and by max_body_lines.
func FuzzIRCSanitizeSplit(f *testing.F) {
	f.Add("Heap overflow\r\nPRIVMSG #other :pwned", "body\x01VERSION\x01\n\x034,5red\x0f", "#sec", uint8(10))
	f.Add(strings.Repeat("€", 300), strings.Repeat("🔥 ", 2000), "#example-security", uint8(200))
	f.Add("\xff\xfe\x00", "\r\r\n\n\x00\x00", "#x", uint8(0))
	f.Add("a", strings.Repeat("x", 5000), strings.Repeat("#", 300), uint8(3))
	f.Fuzz(func(t *testing.T, title, body, target string, maxBody uint8) {
		const mask = "sectriage!~sectriage@some.very.long.host.name.example.org"
		target = strings.Map(func(r rune) rune { // as a config would allow
			if r <= ' ' || r == ',' || r == ':' || r == 0x7f {
				return -1
			}
			return r
		}, target)
		if target == "" || !utf8.ValidString(target) {
			return
		}
		var txt bot.Text
		txt.Plain("New incident SEC-1 ").Untrusted(title).Line().Mention(title).Line().Block(body)
		lines := renderText(txt, func(p string) string { return p })
		budget := textBudget(len(mask), "PRIVMSG", target)
		out, err := layout(lines, budget, int(maxBody), "/sec show 1 in Mattermost")
		if err != nil {
			if budget >= minBudget {
				t.Fatalf("layout failed with budget %d: %v", budget, err)
			}
			return
		}
		total, blocks := 0, 0
		for _, p := range out {
			if strings.ContainsAny(p.text, "\r\n\x00\x01") {
				t.Fatalf("control byte on the wire: %q", p.text)
			}
			if !utf8.ValidString(p.text) {
				t.Fatalf("invalid UTF-8: %q", p.text)
			}
			wire := ":" + mask + " PRIVMSG " + target + " :" + p.text + "\r\n"
			if len(wire) > 512 {
				t.Fatalf("%d-byte line: %q", len(wire), wire)
			}
			if p.text == "" {
				t.Fatal("empty line: the server refuses it (412)")
			}
			if p.block {
				blocks++
			}
			total += len(p.text)
		}
		if blocks > int(maxBody) {
			t.Fatalf("%d body lines, max_body_lines %d", blocks, maxBody)
		}
		if limit := 6*(2*len(title)+len(body)) + 100*len(out) + 1024; total > limit {
			t.Fatalf("%d bytes out for %d in", total, len(title)+len(body))
		}
	})
}

// FuzzSplitText checks the splitter alone on any bytes: the pieces give the
// input back, none is longer than allowed, and on valid UTF-8 none cuts a
// character.
func FuzzSplitText(f *testing.F) {
	f.Add("héllo wörld 🔥", uint16(5))
	f.Add(strings.Repeat("a ", 100), uint16(7))
	f.Add("\x80\x80\x80\x80\x80", uint16(4))
	f.Fuzz(func(t *testing.T, s string, limit uint16) {
		m := int(limit%600) + 1
		pieces := splitText(s, m)
		if strings.Join(pieces, "") != s {
			t.Fatalf("pieces %q do not give back %q", pieces, s)
		}
		for _, p := range pieces {
			if len(p) > max(m, utf8.UTFMax) {
				t.Fatalf("piece of %d bytes, max %d", len(p), m)
			}
			if utf8.ValidString(s) && !utf8.ValidString(p) {
				t.Fatalf("cut inside a character: %q", p)
			}
		}
	})
}
