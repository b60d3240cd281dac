package bot

import (
	"fmt"
	"strings"
)

// Report is what intake could read from a message: decrypted and checked,
// with every piece labelled by whether it came through the encryption. It
// exists only in memory; the database keeps the message as received.
// Every string in it is untrusted.
type Report struct {
	MessageID string
	// From is the reporter's address: Reply-To, else From.
	From string
	// Subject is the protected (inner) subject when the message had one,
	// else the outer one.
	Subject          string
	SubjectProtected bool
	// Recipients are the addresses the message was sent to (To, Cc,
	// Delivered-To), for routing by plus-address.
	Recipients []string
	// References are the Message-IDs of In-Reply-To and References, as
	// the sender wrote them: a claim of what it answers, not proof.
	References []string
	Parts      []ReportPart
	// Signature is the signature over the whole content (every part that
	// came through the encryption; every part, if none did), when one
	// covers it all: the only one that speaks for the report. Zero when
	// none does, even if some parts are signed (see Signatures).
	Signature Signature
	// Signatures are all the signatures found, each shown on the parts it
	// covers (ReportPart.Signature) or, made over encrypted data, on none.
	Signatures []Signature
	// ReporterKey is the reporter's public key (binary OpenPGP) to encrypt
	// replies to, when one is known; ReporterKeySource says where it came
	// from ("verified signer", "attached", "Autocrypt", "known keys").
	ReporterKey            []byte
	ReporterKeyFingerprint string
	ReporterKeySource      string
	// AutoSubmitted is set for bounces and auto-replies (RFC 3834): they
	// get no acknowledgement, so two robots cannot mail each other forever.
	AutoSubmitted bool
}

// PartKind says what a report part is.
type PartKind uint8

const (
	PartText       PartKind = iota // body text (or HTML converted to text)
	PartAttachment                 // a file
)

// ReportPart is one readable piece of a report. Parts are never merged: a
// piece from outside the encryption stays a separate, labelled part, so a
// man in the middle cannot pass his text off as the reporter's (EFAIL).
type ReportPart struct {
	Kind      PartKind
	Encrypted bool
	Name      string // attachment file name (untrusted)
	MediaType string
	Text      string // the content, for text; empty for binary attachments
	Size      int    // bytes of content (decrypted)
	Binary    bool   // content that is not text: not shown
	FromHTML  bool   // converted from HTML (never rendered)
	// Signature is the innermost signature made over this part's content;
	// zero when none covers it (a signature over ciphertext covers none).
	Signature Signature
}

// SignatureStatus classifies a signature.
type SignatureStatus string

const (
	SigNone       SignatureStatus = ""            // unsigned
	SigVerified   SignatureStatus = "verified"    // by a known key, checked after the whole body was read
	SigUnknownKey SignatureStatus = "unknown-key" // signed, but the key is not among the known keys
	SigBad        SignatureStatus = "bad"         // a known key's signature that does not verify
)

// Signature is what is known about a signature.
type Signature struct {
	Status SignatureStatus
	KeyID  string // 16 hex digits, the issuer
	// Fingerprint and Signer (a user id) come from the known key, so they
	// are trusted only when Status is SigVerified.
	Fingerprint string
	Signer      string
	Problem     string // why a signature is bad
	// Emails are the addresses of the key's user ids (trusted only when
	// Status is SigVerified); From is the sender's address they were
	// compared with (on a part, the From of the message it is in, which
	// for a forwarded message is the original's; on the report, the
	// report's), and FromMismatch says none of them is From: the key is
	// someone's, but not the sender's.
	Emails       []string
	From         string
	FromMismatch bool
	// OverCiphertext: the signature was made over encrypted data (signed
	// after encryption). It says who passed the encrypted blob along,
	// nothing about who wrote what is inside.
	OverCiphertext bool
}

// String describes the signature for the timeline and the post.
func (s Signature) String() string {
	out := s.status()
	if s.Status == SigVerified && s.FromMismatch {
		out += fmt.Sprintf(" — NOT the sender: no user id of the key is the From address %s", orUnknown(s.From))
	}
	if s.OverCiphertext {
		out = "made over the encrypted data, not its content (it proves nothing about who wrote it): " + out
	}
	return out
}

func (s Signature) status() string {
	switch s.Status {
	case SigVerified:
		who := s.Fingerprint
		if who == "" {
			who = s.KeyID
		}
		if s.Signer != "" {
			return fmt.Sprintf("verified by %s (%s)", who, s.Signer)
		}
		return "verified by " + who
	case SigUnknownKey:
		return "signed, unknown key " + orUnknown(s.KeyID)
	case SigBad:
		return fmt.Sprintf("signature by %s does NOT verify (%s)", orUnknown(s.KeyID), s.Problem)
	default:
		return "unsigned"
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// Encrypted reports whether any part arrived encrypted.
func (r *Report) Encrypted() bool {
	for _, p := range r.Parts {
		if p.Encrypted {
			return true
		}
	}
	return false
}

// RoutingText is the text routing rules look at: the encrypted parts when
// there are any (text outside the encryption could have been added on the
// way), else everything.
func (r *Report) RoutingText() string {
	enc := r.Encrypted()
	var b strings.Builder
	for _, p := range r.Parts {
		if p.Text != "" && (p.Encrypted || !enc) {
			b.WriteString(p.Text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Summary is the one-line description of how the report arrived, for the
// incident's "created" event: never any of its content.
func (r *Report) Summary(source string) string {
	var b strings.Builder
	b.Grow(200) // one allocation for the usual line
	b.WriteString("received by ")
	b.WriteString(source)
	if r.Encrypted() {
		b.WriteString(", encrypted")
	} else {
		b.WriteString(", UNENCRYPTED")
	}
	b.WriteString("; signature: ")
	b.WriteString(r.signatureSummary())
	if r.ReporterKeyFingerprint != "" {
		b.WriteString("; reporter key ")
		b.WriteString(r.ReporterKeyFingerprint)
		b.WriteString(" (")
		b.WriteString(r.ReporterKeySource)
		b.WriteString(")")
	}
	return b.String()
}

// Text renders the report for a private channel: what is known about it,
// then each part as an inert block under its own label.
func (r *Report) Text() Text {
	var t Text
	t.Plain("Signature: " + r.signatureSummary())
	if r.ReporterKeyFingerprint != "" {
		t.Plain(fmt.Sprintf(" · reporter key %s (%s)", r.ReporterKeyFingerprint, r.ReporterKeySource))
	}
	for _, s := range r.Signatures {
		if s.OverCiphertext {
			t.Line().Plain("A signature " + s.String() + ".")
		}
	}
	if !r.SubjectProtected && r.Encrypted() {
		t.Line().Plain("The subject was not encrypted.")
	}
	if len(r.Parts) == 0 {
		t.Line().Plain("The message holds no readable text.")
	}
	signed := r.partSigned()
	for _, p := range r.Parts {
		t.Line()
		t.Append(p.label())
		if signed && p.Signature.Status == SigNone {
			t.Plain(" [no signature covers this part]")
		}
		if p.Text != "" {
			t.Line().Block(p.Text)
		}
	}
	return t
}

// signatureSummary says which signature speaks for the report: the one
// over its whole content, or that none does.
func (r *Report) signatureSummary() string {
	switch {
	case r.Signature.Status != SigNone && r.Signature.Status == SigVerified && !r.Signature.FromMismatch:
		return r.Signature.String() + ", over the whole content"
	case r.Signature.Status != SigNone:
		return r.Signature.String() + ", over the whole content (it does not identify the sender)"
	case r.partSigned():
		return "none over the whole report; signatures cover only the parts marked with them"
	case len(r.Signatures) > 0:
		return "none over the content"
	}
	return Signature{}.String()
}

// partSigned reports whether some part carries a signature.
func (r *Report) partSigned() bool {
	for _, p := range r.Parts {
		if p.Signature.Status != SigNone {
			return true
		}
	}
	return false
}

// label introduces a part: whether it was encrypted and, for files, its
// name and size. Text from outside the encryption is announced loudly.
func (p ReportPart) label() Text {
	var t Text
	switch {
	case p.Kind == PartAttachment:
		if p.Encrypted {
			t.Plain("Encrypted attachment ")
		} else {
			t.Plain("UNENCRYPTED attachment ")
		}
		t.Untrusted(fmt.Sprintf("%q", p.Name))
		t.Plain(fmt.Sprintf(" (%s", formatSize(p.Size)))
		if p.MediaType != "" {
			t.Plain(", ").Untrusted(p.MediaType)
		}
		t.Plain(")")
		if p.Binary {
			t.Plain(": not text, not shown.")
		} else {
			t.Plain(":")
		}
	case p.Encrypted:
		t.Plain("Encrypted text")
		if p.FromHTML {
			t.Plain(" (converted from HTML)")
		}
		t.Plain(":")
	default:
		t.Plain("UNENCRYPTED text (outside the encryption: anyone on the way could have written or changed it)")
		if p.FromHTML {
			t.Plain(" (converted from HTML)")
		}
		t.Plain(":")
	}
	if p.Signature.Status != SigNone {
		t.Plain(" [" + p.Signature.String() + "]")
	}
	return t
}

func formatSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
