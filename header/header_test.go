package header

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// forbidden is every character a header value may not hold.
func forbidden() []rune {
	var rs []rune
	for r := rune(0); r < 0x20; r++ {
		if r != '\t' {
			rs = append(rs, r)
		}
	}
	rs = append(rs, 0x7f)
	for r := rune(0x80); r <= 0x9f; r++ {
		rs = append(rs, r)
	}
	return append(rs, '\u2028', '\u2029')
}

// TestEveryForbiddenCharacter: each one is refused wherever it appears,
// by Check, by Mail.Add, by Set and by Address.
func TestEveryForbiddenCharacter(t *testing.T) {
	for _, r := range forbidden() {
		for _, v := range []string{string(r), "a" + string(r) + "b", "x@example.org" + string(r)} {
			if err := Check(v); !errors.Is(err, ErrUnsafe) {
				t.Errorf("Check(%q) = %v", v, err)
			}
			var m Mail
			m.Add("Subject", v)
			if b, err := m.Bytes(); err == nil {
				t.Errorf("Mail.Add(%q) built %q", v, b)
			}
			h := http.Header{}
			if err := Set(h, "Retry-After", v); err == nil || len(h) != 0 {
				t.Errorf("Set(%q) = %v, %v", v, err, h)
			}
		}
		addr := "rita" + string(r) + "@example.org"
		if _, err := Address(addr); !errors.Is(err, ErrAddress) {
			t.Errorf("Address(%q) = %v", addr, err)
		}
		id := "<a" + string(r) + "b@example.org>"
		if MessageID(id) != "" {
			t.Errorf("MessageID(%q) accepted", id)
		}
	}
	for _, ok := range []string{"", "plain", "tab\there", "Grüße, 安全", "<x@y>"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q): %v", ok, err)
		}
	}
	if err := Check("\xff"); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
}

func TestMailFolding(t *testing.T) {
	var m Mail
	m.Add("Content-Type", "multipart/encrypted;\r\n boundary=\"b\"")
	m.Add("To", "rita@example.org")
	b, err := m.Bytes()
	if err != nil || string(b) != "Content-Type: multipart/encrypted;\r\n boundary=\"b\"\r\nTo: rita@example.org\r\n" {
		t.Fatalf("%q %v", b, err)
	}
	for _, bad := range []string{"a\r\nBcc: x@y", "a\r\n", "a\nb", "a\rb"} {
		var m Mail
		m.Add("Subject", bad)
		if _, err := m.Bytes(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, name := range []string{"", "Sub ject", "Subject:", "Bcc\r\nX", "Süb"} {
		var m Mail
		m.Add(name, "x")
		if m.Err() == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

func TestAddress(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, c := range []struct {
		addr     string
		ok, utf8 bool
	}{
		{"rita@example.org", true, false},
		{"rita.r+sec@mail.example.org", true, false},
		{"o'brien@example.ie", true, false},
		{"rité@example.fr", true, true},
		{"用户@例子.广告", true, true},
		{"rita@bücher.example", true, true},
		{long(64) + "@example.org", true, false},
		{long(65) + "@example.org", false, false},
		{"a@" + strings.Repeat(long(60)+".", 4) + "org", true, false}, // 246-octet domain
		{"a@" + strings.Repeat(long(63)+".", 4) + "org", false, false},
		{long(64) + "@" + strings.Repeat(long(62)+".", 3) + "exampl.org", false, false}, // path over 256
		{"a@" + long(64) + ".org", false, false},
		{long(5000) + "@example.org", false, false},
		{"rita", false, false},
		{"@example.org", false, false},
		{"rita@", false, false},
		{"rita@localhost", false, false},
		{".rita@example.org", false, false},
		{"ri..ta@example.org", false, false},
		{"\"rita r\"@example.org", false, false},
		{"rita r@example.org", false, false},
		{"Rita <rita@example.org>", false, false},
		{"rita@-example.org", false, false},
		{"rita@exa_mple.org", false, false},
		{"rita@[127.0.0.1]", false, false},
		{"ri\u200bta@example.org", false, false}, // zero-width space: format character
		{"ri\u202eta@example.org", false, false}, // bidi override
		{"ri\u00a0ta@example.org", false, false}, // no-break space
		{"ri\u0085ta@example.org", false, false},
		{"ri\u2028ta@example.org", false, false},
	} {
		utf8, err := Address(c.addr)
		if (err == nil) != c.ok || (c.ok && utf8 != c.utf8) {
			t.Errorf("Address(%.60q) = %v, %v; want ok %v utf8 %v", c.addr, utf8, err, c.ok, c.utf8)
		}
		if err != nil && len(c.addr) > 15 && strings.Contains(err.Error(), c.addr) {
			t.Errorf("the refusal repeats the address: %v", err)
		}
	}
}

func TestMessageID(t *testing.T) {
	for id, ok := range map[string]bool{
		"<abc123@example.net>":                 true,
		"<a.b-c+d@mail.example.net>":           true,
		"<x@[127.0.0.1]>":                      true,
		"abc@example.net":                      false,
		"<abc>":                                false,
		"<a b@example.net>":                    false,
		"<a@b@example.net>":                    false,
		"<.a@example.net>":                     false,
		"<a@example.net>\r\nBcc: x@y":          false,
		"<a\x00@example.net>":                  false,
		"<ä@example.net>":                      false,
		"<a@" + strings.Repeat("b", 250) + ">": false,
		"":                                     false,
	} {
		if got := MessageID(id) != ""; got != ok {
			t.Errorf("MessageID(%q) accepted=%v, want %v", id, got, ok)
		}
	}
}
