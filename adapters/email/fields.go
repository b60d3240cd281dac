package email

import "github.com/emersion/go-message/textproto"

// The decoder parses only the header fields it reads. A received header is
// mostly Received, DKIM-Signature, ARC and list fields that nothing here
// looks at, and parsing a field costs several allocations; so each field
// the decoder reads is declared here, once, and cleanHeader keeps just
// those. An entity's header can be asked only for a declared field.

// field is a header field the decoder reads.
type field struct{ name string }

// readFields are all fields declared with readField.
var readFields []field

// readField declares a field the decoder reads.
func readField(name string) field {
	f := field{name}
	readFields = append(readFields, f)
	return f
}

var (
	fieldMessageID        = readField("Message-Id")
	fieldFrom             = readField("From")
	fieldReplyTo          = readField("Reply-To")
	fieldSubject          = readField("Subject")
	fieldTo               = readField("To")
	fieldCc               = readField("Cc")
	fieldDeliveredTo      = readField("Delivered-To")
	fieldOriginalTo       = readField("X-Original-To")
	fieldInReplyTo        = readField("In-Reply-To")
	fieldReferences       = readField("References")
	fieldAutocrypt        = readField("Autocrypt")
	fieldAutoSubmitted    = readField("Auto-Submitted")
	fieldPrecedence       = readField("Precedence")
	fieldContentType      = readField("Content-Type")
	fieldTransferEncoding = readField("Content-Transfer-Encoding")
	fieldDisposition      = readField("Content-Disposition")
)

// isReadField reports whether name (as on the wire, in any case: field
// names are US-ASCII, and cleanHeader passes no other) is a declared field.
func isReadField(name []byte) bool {
	for _, f := range readFields {
		if equalFoldASCII(f.name, name) {
			return true
		}
	}
	return false
}

func equalFoldASCII(s string, b []byte) bool {
	if len(s) != len(b) {
		return false
	}
	for i := range len(b) {
		if lowerASCII(s[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// fields is an entity's header, holding the declared fields only.
type fields struct{ h textproto.Header }

func (h fields) get(f field) string      { return h.h.Get(f.name) }
func (h fields) values(f field) []string { return h.h.Values(f.name) }
func (h fields) has(f field) bool        { return h.h.Has(f.name) }
