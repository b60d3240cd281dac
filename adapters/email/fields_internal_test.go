package email

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestParseEntityKeepsEveryReadField parses, for every field the decoder
// reads, a header where that field (in any case, folded) sits among
// fields it does not read, and checks that it, and only it, is kept.
func TestParseEntityKeepsEveryReadField(t *testing.T) {
	if len(readFields) < 16 {
		t.Fatalf("only %d fields declared", len(readFields))
	}
	for _, f := range readFields {
		for _, name := range []string{f.name, strings.ToUpper(f.name), strings.ToLower(f.name)} {
			raw := "Received: from a by b;\r\n\tFri, 4 Dec 2026 10:00:00 +0000\r\n" +
				"DKIM-Signature: v=1;\r\n b=abc\r\n" +
				name + ": first\r\n second\r\n" +
				"X-Unread: " + f.name + ": not this\r\n" +
				"\r\nbody\r\n"
			var p headerParser
			e, err := p.parseEntity([]byte(raw), 1<<16)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.header.get(f); got != "first second" {
				t.Errorf("%s: %q", name, got)
			}
			if n := e.header.h.Len(); n != 1 {
				t.Errorf("%s: %d fields kept, want 1", name, n)
			}
			if string(e.body) != "body\r\n" {
				t.Errorf("%s: body %q", name, e.body)
			}
		}
	}
}

// TestHeaderParserReuse parses entities one after another with one
// parser: none may see another's fields.
func TestHeaderParserReuse(t *testing.T) {
	var p headerParser
	long := "Subject: " + strings.Repeat("long ", 600) + "\r\n"
	for i, raw := range []string{long + "From: a@example.org\r\n\r\n", "To: b@example.org\r\n\r\n", long, "\r\nno header\r\n"} {
		e, err := p.parseEntity([]byte(raw), 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		want := map[field]string{}
		switch i {
		case 0:
			want[fieldSubject], want[fieldFrom] = strings.TrimSpace(strings.Repeat("long ", 600)), "a@example.org"
		case 1:
			want[fieldTo] = "b@example.org"
		case 2:
			want[fieldSubject] = strings.TrimSpace(strings.Repeat("long ", 600))
		}
		for _, f := range readFields {
			if got := e.header.get(f); got != want[f] {
				t.Errorf("entity %d, %s: %q, want %q", i, f.name, got, want[f])
			}
		}
	}
}

// splitHeaderSpec is splitHeader as first written: both kinds of blank
// line searched through the whole message, the earlier one wins.
func splitHeaderSpec(raw []byte) (hdr, body []byte) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return nil, raw[2:]
	}
	if bytes.HasPrefix(raw, []byte("\n")) {
		return nil, raw[1:]
	}
	end, skip := -1, 0
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		end, skip = i+1, 1
	}
	if i := bytes.Index(raw, []byte("\n\r\n")); i >= 0 && (end < 0 || i+1 < end) {
		end, skip = i+1, 2
	}
	if end < 0 {
		return raw, nil
	}
	return raw[:end], raw[end+skip:]
}

func TestSplitHeaderMatchesSpec(t *testing.T) {
	pieces := []string{"a", ":", " ", "\r", "\n", "\r\n", "\n\n", "\n\r\n", "\r\n\r\n"}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 50000 {
		var b []byte
		for range rng.IntN(10) {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		h1, b1 := splitHeader(b)
		h2, b2 := splitHeaderSpec(b)
		if !bytes.Equal(h1, h2) || !bytes.Equal(b1, b2) || (h1 == nil) != (h2 == nil) || (b1 == nil) != (b2 == nil) {
			t.Fatalf("splitHeader(%q) = %q, %q; want %q, %q", b, h1, b1, h2, b2)
		}
	}
}

// TestHeaderParserScrub checks that a scrubbed parser holds nothing of
// the headers it read, in its cleaned copy or in its read buffer: a
// walker's parser goes back to a pool after reading decrypted headers.
func TestHeaderParserScrub(t *testing.T) {
	var p headerParser
	raw := "Subject: secret-marker " + strings.Repeat("x", 2000) + "\r\nFrom: a@example.org\r\n\r\nbody\r\n"
	if _, err := p.parseEntity([]byte(raw), 1<<16); err != nil {
		t.Fatal(err)
	}
	buf := reflect.ValueOf(p.br).Elem().FieldByName("buf").Bytes()
	if len(buf) != headerBufSize || !bytes.Contains(buf, []byte("secret")) && !bytes.Contains(p.clean, []byte("secret")) {
		t.Fatalf("the test reads the wrong buffer (%d bytes)", len(buf))
	}
	p.scrub()
	for name, b := range map[string][]byte{"clean": p.clean[:cap(p.clean)], "read buffer": buf} {
		if bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
			t.Errorf("%s not scrubbed: %q", name, b)
		}
	}
	// And it still parses.
	e, err := p.parseEntity([]byte("To: b@example.org\r\n\r\n"), 1<<16)
	if err != nil || e.header.get(fieldTo) != "b@example.org" || e.header.has(fieldSubject) {
		t.Fatalf("%v %v", err, e)
	}
}
