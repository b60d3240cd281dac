// Package header is the one place where sectriage builds the header values
// it emits: the fields of every mail it sends or files, and the HTTP
// response headers whose value is not a constant. A value that could end
// a header line or start another one is refused, not cleaned: a reporter's
// address or a received Message-ID with a line break in it is an attack or
// garbage, and either way it must not become part of our header.
package header

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ErrUnsafe is what every refusal wraps.
var ErrUnsafe = errors.New("unsafe header value")

// Check returns nil when v may be a header value: valid UTF-8 with no
// control character (C0 but horizontal tab, DEL, C1 including U+0085 NEL)
// and no Unicode line or paragraph separator (U+2028, U+2029), which some
// mail and HTTP software treat as line ends.
func Check(v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: not valid UTF-8", ErrUnsafe)
	}
	for i, r := range v {
		if Unsafe(r) {
			return fmt.Errorf("%w: character %U at byte %d", ErrUnsafe, r, i)
		}
	}
	return nil
}

// Unsafe reports whether r may not appear in a header value.
func Unsafe(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == '\u2028', r == '\u2029':
		return true
	}
	return false
}

// checkName accepts a field name: printable US-ASCII but the colon (RFC
// 5322 ftext, which is also a valid HTTP token for the names we use).
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty field name", ErrUnsafe)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("%w: field name %q", ErrUnsafe, name)
		}
	}
	return nil
}

// Mail builds a mail header block, field by field, in order. The first
// refused field makes Bytes fail: a message with a field left out could
// mean something else (a reply without its In-Reply-To is fine, a mail
// without its To is not), so callers decide what to drop before Add.
type Mail struct {
	b   bytes.Buffer
	err error
}

// Add appends "name: value\r\n". value may be folded already: a CRLF
// followed by a space or tab continues the field (RFC 5322 folding), and
// is the only line break let through.
func (m *Mail) Add(name, value string) {
	if m.err != nil {
		return
	}
	if err := checkName(name); err != nil {
		m.err = err
		return
	}
	for i, line := range strings.Split(value, "\r\n") {
		if i > 0 && (line == "" || (line[0] != ' ' && line[0] != '\t')) {
			m.err = fmt.Errorf("%w: %s: a line break that does not continue the field", ErrUnsafe, name)
			return
		}
		if err := Check(line); err != nil {
			m.err = fmt.Errorf("%s: %w", name, err)
			return
		}
	}
	m.b.WriteString(name)
	m.b.WriteString(": ")
	m.b.WriteString(value)
	m.b.WriteString("\r\n")
}

// Err is the first refusal, or nil.
func (m *Mail) Err() error { return m.err }

// Bytes returns the header block (without the empty line that ends it).
func (m *Mail) Bytes() ([]byte, error) {
	if m.err != nil {
		return nil, m.err
	}
	return m.b.Bytes(), nil
}

// Set sets an HTTP response or request header with a variable value; a
// refused value leaves the header unset and says why. (net/http refuses
// CR and LF itself, but passes NUL-free controls and U+2028.)
func Set(h http.Header, name, value string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := Check(value); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	h.Set(name, value)
	return nil
}

// MessageID returns id when it is a msg-id of RFC 5322 (section 3.6.4):
// "<" dot-atom-text "@" (dot-atom-text / "[" dtext "]") ">", in US-ASCII,
// at most 250 octets; anything else returns "" and the caller drops the
// field. A received Message-ID is copied into In-Reply-To and References
// only through this.
func MessageID(id string) string {
	if len(id) < 5 || len(id) > 250 || id[0] != '<' || id[len(id)-1] != '>' {
		return ""
	}
	left, right, ok := strings.Cut(id[1:len(id)-1], "@")
	if !ok || !dotAtom(left) {
		return ""
	}
	if strings.HasPrefix(right, "[") && strings.HasSuffix(right, "]") && len(right) > 2 {
		for i := 1; i < len(right)-1; i++ {
			if c := right[i]; c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
				return ""
			}
		}
		return id
	}
	if !dotAtom(right) {
		return ""
	}
	return id
}

// dotAtom reports whether s is an RFC 5322 dot-atom-text in US-ASCII.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && !atext(c) {
			return false
		}
	}
	return true
}

// atext is RFC 5322 atext: letters, digits and !#$%&'*+-/=?^_`{|}~.
func atext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
