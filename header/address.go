package header

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of RFC 5321 section 4.5.3.1, in octets.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxPath      = 256 // "<" local "@" domain ">"
	maxLabel     = 63
)

// ErrAddress is what every refused address wraps. Its messages can be
// shown to whoever typed the address: they never repeat it.
var ErrAddress = errors.New("not a usable e-mail address")

// Address checks a bare mailbox (local@domain, no name, no angle brackets)
// for use in RCPT TO and in To/From: RFC 5321 syntax and length limits,
// with the UTF-8 of RFC 6531 allowed in both parts (letters, marks,
// digits, punctuation and symbols only: no spaces, controls, format or
// separator characters). utf8 says the address needs SMTPUTF8.
func Address(addr string) (utf8Needed bool, err error) {
	if err := Check(addr); err != nil {
		return false, fmt.Errorf("%w: it contains a control or line-separator character", ErrAddress)
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return false, fmt.Errorf("%w: write it as name@example.org", ErrAddress)
	}
	local, domain := addr[:at], addr[at+1:]
	switch {
	case len(local) > maxLocalPart:
		return false, fmt.Errorf("%w: the part before @ is longer than %d bytes", ErrAddress, maxLocalPart)
	case len(domain) > maxDomain:
		return false, fmt.Errorf("%w: the domain is longer than %d bytes", ErrAddress, maxDomain)
	case len(addr)+2 > maxPath:
		return false, fmt.Errorf("%w: it is longer than %d bytes", ErrAddress, maxPath-2)
	}
	if !dotString(local) {
		return false, fmt.Errorf("%w: the part before @ may hold letters, digits and !#$%%&'*+-/=?^_`{|}~, with single dots between them", ErrAddress)
	}
	for _, label := range strings.Split(domain, ".") {
		if !domainLabel(label) {
			return false, fmt.Errorf("%w: the domain must be dot-separated names of letters, digits and hyphens", ErrAddress)
		}
	}
	if !strings.Contains(domain, ".") {
		return false, fmt.Errorf("%w: the domain has no dot", ErrAddress)
	}
	for i := 0; i < len(addr); i++ {
		if addr[i] >= utf8.RuneSelf {
			return true, nil
		}
	}
	return false, nil
}

// dotString is RFC 5321 Dot-string (quoted local parts are refused: no
// reporter needs one, and every tool mangles them), with RFC 6531's UTF-8.
func dotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r == '.' {
			continue
		}
		if r < utf8.RuneSelf {
			if !atext(byte(r)) {
				return false
			}
		} else if !visible(r) {
			return false
		}
	}
	return true
}

// domainLabel is an LDH label (RFC 5321 sub-domain), or a U-label of
// RFC 6531 made of visible characters; at most 63 octets.
func domainLabel(l string) bool {
	if l == "" || len(l) > maxLabel || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		switch {
		case r == '-', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)):
		default:
			return false
		}
	}
	return true
}

// visible: a non-ASCII letter, mark, number, punctuation or symbol; not a
// space, control, format (bidi overrides, zero-width), separator or
// unassigned code point.
func visible(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
}
