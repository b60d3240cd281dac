package gpgtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"path"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/ianaindex"
)

// Mail is the visible content of a test mail. Zero fields get defaults.
type Mail struct {
	From      string    // "Reporter <reporter@example.net>"
	To        string    // "security@example.org"
	Subject   string    // "Vulnerability report"
	Date      time.Time // now
	MessageID string    // random, without angle brackets
	Body      string    // UTF-8 text (or HTML when HTML is set); a short report
	// Charset is the body's charset on the wire, e.g. "ISO-8859-1",
	// "windows-1252" or "ISO-2022-JP"; "" means UTF-8. Body is converted.
	Charset string
	// HTML sends Body as text/html only, as HTML-composing clients do.
	HTML      bool
	UserAgent string // Thunderbird 115 unless set
	// InReplyTo, when set, is the Message-ID (with angle brackets) the
	// mail answers: In-Reply-To and References name it, as a client's
	// reply does.
	InReplyTo string
}

func (m Mail) withDefaults() Mail {
	if m.From == "" {
		m.From = "Reporter <reporter@example.net>"
	}
	if m.To == "" {
		m.To = "security@example.org"
	}
	if m.Subject == "" {
		m.Subject = "Vulnerability report"
	}
	if m.Date.IsZero() {
		m.Date = time.Now()
	}
	if m.MessageID == "" {
		m.MessageID = randomHex(12) + "@example.net"
	}
	if m.Body == "" {
		m.Body = "Hello,\n\nthe login form is vulnerable to reflected XSS via the 'next' parameter.\n\nRegards\n"
	}
	if m.UserAgent == "" {
		m.UserAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.16.0"
	}
	return m
}

// entity is one MIME entity: header lines (folded values contain CRLF SP)
// and a body that already uses CRLF.
type entity struct {
	header []string
	body   []byte
}

func (e entity) bytes() []byte {
	var b bytes.Buffer
	for _, h := range e.header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(e.body)
	return b.Bytes()
}

// multipart joins parts the way Thunderbird does: params folded onto
// their own lines, a "------------" boundary, a preamble for non-MIME readers.
// A part's bytes end before the CRLF that belongs to the next delimiter,
// which is exactly what a multipart/signed signature covers.
func multipart(mediaType string, params []string, preamble string, parts ...[]byte) entity {
	boundary := "------------" + randomAlnum(24)
	ct := "Content-Type: " + mediaType + ";"
	for _, p := range params {
		ct += "\r\n " + p + ";"
	}
	ct += "\r\n boundary=\"" + boundary + "\""
	var b bytes.Buffer
	if preamble != "" {
		b.WriteString(preamble + "\r\n")
	}
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		b.Write(p)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return entity{header: []string{ct}, body: b.Bytes()}
}

// outerHeaders are the top-level headers, in Thunderbird's order.
func outerHeaders(m Mail, subject string) []string {
	h := []string{
		"Message-ID: <" + m.MessageID + ">",
		"Date: " + m.Date.Format(time.RFC1123Z),
		"MIME-Version: 1.0",
		"User-Agent: " + m.UserAgent,
		"From: " + m.From,
		"To: " + m.To,
		"Subject: " + mime.QEncoding.Encode("utf-8", subject),
	}
	if m.InReplyTo != "" {
		h = append(h, "In-Reply-To: "+m.InReplyTo, "References: "+m.InReplyTo)
	}
	return h
}

// textPart is the body as a text/plain (or text/html) part in m.Charset:
// 7bit when it is plain ASCII, quoted-printable otherwise.
func textPart(t testing.TB, m Mail) entity {
	t.Helper()
	media := "text/plain"
	if m.HTML {
		media = "text/html"
	}
	charset, data := encodeCharset(t, crlf([]byte(m.Body)), m.Charset)
	cte, body := transferEncode(data)
	return entity{header: []string{
		fmt.Sprintf("Content-Type: %s; charset=%s", media, charset),
		"Content-Transfer-Encoding: " + cte,
	}, body: body}
}

// innerEntity is what gets encrypted or signed. With protected headers it
// is Thunderbird's multipart/mixed carrying the real Subject (RFC draft
// "protected headers", protected-headers="v1").
func innerEntity(t testing.TB, m Mail, protected bool) entity {
	t.Helper()
	body := textPart(t, m)
	if !protected {
		return body
	}
	mp := multipart("multipart/mixed", nil, "", body.bytes())
	mp.header[0] += `; protected-headers="v1"`
	mp.header = append(mp.header, "From: "+m.From, "To: "+m.To, "Message-ID: <"+m.MessageID+">",
		"Subject: "+mime.QEncoding.Encode("utf-8", m.Subject))
	return mp
}

// PlainMail is an unencrypted text mail.
func PlainMail(t testing.TB, m Mail) []byte {
	t.Helper()
	m = m.withDefaults()
	body := textPart(t, m)
	body.header = append(outerHeaders(m, m.Subject), body.header...)
	return body.bytes()
}

// MIMEOptions shape PGPMIME.
type MIMEOptions struct {
	// SignWith signs the content as well.
	SignWith *Key
	// SignedInner, with SignWith, encrypts a multipart/signed entity (sign
	// then encrypt, RFC 3156 §6.1, as mutt does) instead of making one
	// combined signed-and-encrypted OpenPGP message (§6.2, Thunderbird).
	SignedInner bool
	// ProtectedHeaders moves the real Subject inside the encryption; the
	// outer Subject becomes OuterSubject ("..." as Thunderbird sends).
	ProtectedHeaders bool
	OuterSubject     string
	// Encrypt tunes the encryption (Binary and SignWith are ignored).
	Encrypt EncryptOptions
}

// PGPMIME is an RFC 3156 multipart/encrypted mail to recipients.
func (g *GPG) PGPMIME(t testing.TB, m Mail, recipients []*Key, opts MIMEOptions) []byte {
	t.Helper()
	m = m.withDefaults()
	inner := innerEntity(t, m, opts.ProtectedHeaders)
	enc := opts.Encrypt
	enc.Binary, enc.SignWith = false, nil
	if opts.SignWith != nil {
		if opts.SignedInner {
			inner = g.signedEntity(t, inner, opts.SignWith)
		} else {
			enc.SignWith = opts.SignWith
		}
	}
	armored := g.Encrypt(t, inner.bytes(), recipients, enc)
	subject := m.Subject
	if opts.ProtectedHeaders {
		subject = opts.OuterSubject
		if subject == "" {
			subject = "..."
		}
	}
	return encryptedEnvelope(m, subject, armored)
}

// PGPMIMEEnvelope wraps any armored payload (e.g. a broken one from this
// package) in the multipart/encrypted structure PGPMIME makes.
func PGPMIMEEnvelope(m Mail, armored []byte) []byte {
	m = m.withDefaults()
	return encryptedEnvelope(m, m.Subject, armored)
}

func encryptedEnvelope(m Mail, subject string, armored []byte) []byte {
	mp := encryptedEntity(armored)
	mp.header = append(outerHeaders(m, subject), mp.header...)
	return mp.bytes()
}

// encryptedEntity is the multipart/encrypted entity around armored.
func encryptedEntity(armored []byte) entity {
	version := entity{header: []string{
		"Content-Type: application/pgp-encrypted",
		"Content-Description: PGP/MIME version identification",
	}, body: []byte("Version: 1\r\n")}
	data := entity{header: []string{
		`Content-Type: application/octet-stream; name="encrypted.asc"`,
		"Content-Description: OpenPGP encrypted message",
		`Content-Disposition: inline; filename="encrypted.asc"`,
	}, body: crlf(armored)}
	return multipart("multipart/encrypted", []string{`protocol="application/pgp-encrypted"`},
		"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)", version.bytes(), data.bytes())
}

// signedEntity is an RFC 3156 multipart/signed around inner, with a
// text-mode detached signature over inner's exact bytes.
func (g *GPG) signedEntity(t testing.TB, inner entity, key *Key) entity {
	t.Helper()
	signed := inner.bytes()
	sig := entity{header: []string{
		`Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"`,
		"Content-Description: OpenPGP digital signature",
		`Content-Disposition: attachment; filename="OpenPGP_signature.asc"`,
	}, body: crlf(g.DetachSign(t, signed, key, SignOptions{TextMode: true}))}
	return multipart("multipart/signed", []string{"micalg=pgp-sha256", `protocol="application/pgp-signature"`},
		"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)", signed, sig.bytes())
}

// SignedMail is a signed but unencrypted multipart/signed mail.
func (g *GPG) SignedMail(t testing.TB, m Mail, key *Key) []byte {
	t.Helper()
	m = m.withDefaults()
	e := g.signedEntity(t, textPart(t, m), key)
	e.header = append(outerHeaders(m, m.Subject), e.header...)
	return e.bytes()
}

// InlineOptions shape InlineMail.
type InlineOptions struct {
	Before, After string // unencrypted text around the armored block
	// Encrypt tunes the encryption; text mode is always on, as in
	// Enigmail's inline PGP, and Binary is ignored.
	Encrypt EncryptOptions
}

// InlineMail is "inline PGP": a text/plain mail whose body holds an
// armored message (of Body in Charset), optionally with text around it.
func (g *GPG) InlineMail(t testing.TB, m Mail, recipients []*Key, opts InlineOptions) []byte {
	t.Helper()
	m = m.withDefaults()
	_, plaintext := encodeCharset(t, crlf([]byte(m.Body)), m.Charset)
	enc := opts.Encrypt
	enc.TextMode, enc.Binary = true, false
	armored := g.Encrypt(t, plaintext, recipients, enc)
	text := m
	text.HTML = false
	text.Body = opts.Before
	if text.Body != "" && !strings.HasSuffix(text.Body, "\n") {
		text.Body += "\n"
	}
	text.Body += string(armored) + opts.After
	e := textPart(t, text)
	e.header = append(outerHeaders(m, m.Subject), e.header...)
	return e.bytes()
}

// AttachmentOptions shape AttachmentMail.
type AttachmentOptions struct {
	// Filename decides the format: ".pgp" and ".gpg" get binary OpenPGP,
	// anything else (default "report.txt.asc") ASCII armor.
	Filename string
	// ContentType defaults to application/pgp-encrypted for .asc and .pgp,
	// application/octet-stream for .gpg. Debian's mime.types would label
	// .asc as application/pgp-keys; a parser must not trust the label.
	ContentType string
	// Content is the attachment's plaintext; defaults to a short report.
	Content []byte
	Encrypt EncryptOptions
}

// AttachmentMail is a multipart/mixed mail with Body as visible text and
// an encrypted file attached, as reporters send from webmail.
func (g *GPG) AttachmentMail(t testing.TB, m Mail, recipients []*Key, opts AttachmentOptions) []byte {
	t.Helper()
	m = m.withDefaults()
	name := opts.Filename
	if name == "" {
		name = "report.txt.asc"
	}
	ext := path.Ext(name)
	content := opts.Content
	if content == nil {
		content = []byte("Steps to reproduce:\n1. open /login?next=javascript:alert(1)\n")
	}
	enc := opts.Encrypt
	enc.Binary = ext == ".pgp" || ext == ".gpg"
	if enc.Filename == "" {
		enc.Filename = strings.TrimSuffix(name, ext)
	}
	ctype := opts.ContentType
	if ctype == "" {
		ctype = "application/pgp-encrypted"
		if ext == ".gpg" {
			ctype = "application/octet-stream"
		}
	}
	att := entity{header: []string{
		fmt.Sprintf("Content-Type: %s; name=%q", ctype, name),
		fmt.Sprintf("Content-Disposition: attachment; filename=%q", name),
		"Content-Transfer-Encoding: base64",
	}, body: base64Lines(g.Encrypt(t, content, recipients, enc))}
	mp := multipart("multipart/mixed", nil, "This is a multi-part message in MIME format.",
		textPart(t, m).bytes(), att.bytes())
	mp.header = append(outerHeaders(m, m.Subject), mp.header...)
	return mp.bytes()
}

// encodeCharset converts CRLF text to charset ("" = UTF-8) and returns
// the name to declare.
func encodeCharset(t testing.TB, text []byte, charset string) (string, []byte) {
	t.Helper()
	if charset == "" || strings.EqualFold(charset, "utf-8") {
		return "UTF-8", text
	}
	enc, err := ianaindex.MIME.Encoding(charset)
	if err != nil || enc == nil {
		t.Fatalf("gpgtest: unknown charset %q: %v", charset, err)
	}
	out, err := enc.NewEncoder().Bytes(text)
	if err != nil {
		t.Fatalf("gpgtest: body cannot be written in %s: %v", charset, err)
	}
	return charset, out
}

// transferEncode picks 7bit for ASCII with short lines, else
// quoted-printable, which keeps signed parts 7-bit clean (RFC 3156 §3).
func transferEncode(data []byte) (string, []byte) {
	sevenBit := true
	for _, line := range bytes.Split(data, []byte("\r\n")) {
		if len(line) > 998 || bytes.ContainsFunc(line, func(r rune) bool { return r >= 0x80 || r == 0 }) {
			sevenBit = false
		}
	}
	if sevenBit {
		return "7bit", data
	}
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write(data)
	_ = w.Close()
	return "quoted-printable", b.Bytes()
}

// crlf turns LF (as gpg writes) into CRLF, leaving existing CRLF alone.
func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

func base64Lines(data []byte) []byte {
	s := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
	return b.Bytes()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomAlnum(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
