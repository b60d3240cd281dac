package email

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"github.com/sectriage/sectriage/bot"
)

// The MIME layer works on bytes in memory, bounded by the message size
// limit, and keeps each part's exact wire bytes: a multipart/signed
// signature covers them, and decoding and re-encoding would break it.

// entity is one MIME entity as on the wire.
type entity struct {
	header    fields
	mediaType string // lower case; text/plain when absent or unparseable
	params    map[string]string
	body      []byte // transfer encoding not undone
}

// wordDecoder decodes RFC 2047 encoded words in any charset go-message knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// headerParser reads entity headers, reusing its buffers from one header
// to the next (ReadHeader copies out what it keeps). A walker takes one
// from the decoder's pool for its message and scrubs it before it goes
// back: the headers it read may have been encrypted. Only top-level
// headers, outside any encryption, go through the decoder's own (see
// topMemo).
type headerParser struct {
	clean []byte
	rd    bytes.Reader
	br    *bufio.Reader
}

// headerBufSize is the size of a headerParser's read buffer. A line
// longer than it is read in pieces, at the cost of a copy; header lines
// are short.
const headerBufSize = 1024

// zeros overwrite a parser's read buffer (see scrub).
var zeros [headerBufSize]byte

// scrub overwrites everything p has read: its cleaned header and its read
// buffer (filled with zeros by reading them).
func (p *headerParser) scrub() {
	clear(p.clean[:cap(p.clean)])
	p.clean = p.clean[:0]
	if p.br != nil {
		p.rd.Reset(zeros[:])
		p.br.Reset(&p.rd)
		p.br.Peek(headerBufSize)
		p.br.Reset(&p.rd)
	}
	p.rd.Reset(nil)
}

// parseEntity reads an entity's header and finds its body. A header that is
// too large is a rejection; lines that are not header fields are skipped,
// since mail in the wild has them and dropping one loses nothing the
// decoder relies on; so are the fields the decoder never reads.
func (p *headerParser) parseEntity(raw []byte, maxHeader int) (*entity, error) {
	return p.parseEntityMemo(raw, maxHeader, nil)
}

// parseEntityMemo is parseEntity taking the header from memo when it is
// there, and leaving it there. Only an entity from outside any encryption
// may be parsed with a memo (see partMemo).
func (p *headerParser) parseEntityMemo(raw []byte, maxHeader int, memo *partMemo) (*entity, error) {
	e := new(entity)
	if err := p.parseEntityInto(e, raw, maxHeader, memo); err != nil {
		return nil, err
	}
	return e, nil
}

// parseEntityInto is parseEntityMemo into e (the parts of a multipart
// entity are parsed into one slice).
func (p *headerParser) parseEntityInto(e *entity, raw []byte, maxHeader int, memo *partMemo) error {
	hdr, body := splitHeader(raw)
	return p.parseInto(e, hdr, body, maxHeader, memo)
}

// parseInto is parseEntityInto of an entity already split into header
// and body. On an error, e is left undefined.
func (p *headerParser) parseInto(e *entity, hdr, body []byte, maxHeader int, memo *partMemo) error {
	if len(hdr) > maxHeader {
		return bot.Reject(bot.RejectHeaderTooLarge, "a MIME header is larger than %d bytes", maxHeader)
	}
	// Field lines are kept or dropped whole; only a bare LF grows one.
	p.clean = cleanHeader(slices.Grow(p.clean[:0], len(hdr)+len(hdr)/32+2), hdr)
	// What follows is a function of the cleaned header alone.
	if m, ok := memo.get(p.clean); ok {
		*e = m
		e.body = body
		return nil
	}
	p.rd.Reset(p.clean)
	if p.br == nil {
		p.br = bufio.NewReaderSize(&p.rd, headerBufSize)
	} else {
		p.br.Reset(&p.rd)
	}
	h, err := textproto.ReadHeader(p.br)
	if err != nil && err != io.EOF {
		return bot.Reject(bot.RejectMalformedMIME, "unreadable MIME header")
	}
	*e = entity{header: fields{h}, body: body, mediaType: "text/plain"}
	if ct := e.header.get(fieldContentType); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err == nil || err == mime.ErrInvalidMediaParameter {
			e.mediaType = strings.ToLower(mt)
			e.params = params
		} else if strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "multipart/") {
			return bot.Reject(bot.RejectMalformedMIME, "unparseable multipart Content-Type")
		}
	}
	memo.put(p.clean, e)
	return nil
}

// parseBody reads decrypted data: a MIME entity when it starts with a
// header field, else plain text without a header (some clients encrypt
// just the text).
func (p *headerParser) parseBody(data []byte, maxHeader int) (*entity, error) {
	if startsWithHeader(data) {
		return p.parseEntity(data, maxHeader)
	}
	return &entity{mediaType: "text/plain", body: data}, nil
}

func startsWithHeader(data []byte) bool {
	line := data
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		line = data[:i]
	}
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	for _, c := range line[:i] {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// stripMboxFrom drops the mbox "From " line that procmail and Postfix's
// pipe (with the F flag) put before a message's header.
func stripMboxFrom(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

// splitHeader cuts raw at the first empty line.
func splitHeader(raw []byte) (hdr, body []byte) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return nil, raw[2:]
	}
	if bytes.HasPrefix(raw, []byte("\n")) {
		return nil, raw[1:]
	}
	// The first blank line of either kind; an LF one is looked for only
	// before a CRLF one, so a CRLF message is not scanned to its end.
	end, skip, before := -1, 0, raw
	if i := bytes.Index(raw, []byte("\n\r\n")); i >= 0 {
		end, skip, before = i+1, 2, raw[:i+1]
	}
	if i := bytes.Index(before, []byte("\n\n")); i >= 0 {
		end, skip = i+1, 1
	}
	if end < 0 {
		return raw, nil
	}
	return raw[:end], raw[end+skip:]
}

// cleanHeader appends to out the header fields of hdr that the decoder
// reads, with their continuation lines, and drops anything else; it ends
// the block with an empty line for ReadHeader.
func cleanHeader(out, hdr []byte) []byte {
	keep := false
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line, hdr = hdr[:i], hdr[i+1:]
		} else {
			hdr = nil
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			continue
		}
		if trimmed[0] != ' ' && trimmed[0] != '\t' {
			keep = startsWithHeader(trimmed) && isReadField(trimmed[:bytes.IndexByte(trimmed, ':')])
		}
		if keep {
			out = append(out, trimmed...)
			out = append(out, "\r\n"...)
		}
	}
	return append(out, "\r\n"...)
}

// headerText decodes a header value's encoded words; on an unknown charset
// it keeps the raw value rather than lose it.
func headerText(h fields, key field) string {
	v := strings.TrimSpace(h.get(key))
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return v
}

// address reads the first address of a header field; an unparseable value
// is returned cleaned up, so the team still sees who claimed to send it.
func address(h fields, key field) string {
	v := strings.TrimSpace(h.get(key))
	if v == "" {
		return ""
	}
	p := mail.AddressParser{WordDecoder: wordDecoder}
	if list, err := p.ParseList(v); err == nil && len(list) > 0 {
		return list[0].Address
	}
	return truncate(strings.Join(strings.Fields(headerText(h, key)), " "), 200)
}

// addresses reads every address of the given header fields.
func addresses(h fields, keys ...field) []string {
	var out []string
	p := mail.AddressParser{WordDecoder: wordDecoder}
	for _, k := range keys {
		for _, v := range h.values(k) {
			list, err := p.ParseList(v)
			if err != nil {
				continue
			}
			for _, a := range list {
				out = append(out, a.Address)
			}
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xc0 != 0x80 }

// content undoes the transfer encoding, bounded by limit. Unknown
// encodings are taken as they are: the bytes are still worth showing.
// Without a transfer encoding to undo it returns the body itself, not a
// copy: nothing writes to what it returns.
func (e *entity) content(limit int64) ([]byte, error) {
	var r io.Reader
	size := len(e.body) // decoding never makes a body longer than it is encoded
	switch strings.ToLower(strings.TrimSpace(e.header.get(fieldTransferEncoding))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: bytes.NewReader(e.body)})
		size = size/4*3 + 3
	case "quoted-printable":
		r = quotedprintable.NewReader(bytes.NewReader(e.body))
	default:
		if int64(len(e.body)) > limit {
			return nil, errTooLarge
		}
		return e.body, nil
	}
	// A read error is truncated base64 or bad quoted-printable: keep what
	// decoded, which is what mail readers show.
	out, _ := readAllSized(r, limit+1, int(min(int64(size), limit+1)))
	if int64(len(out)) > limit {
		return nil, errTooLarge
	}
	return out, nil
}

// readAllSized is io.ReadAll of at most limit bytes of r into one buffer
// of size+1 bytes, for a reader known to yield at most size: io.ReadAll
// starts at 512 bytes and grows, a dozen allocations and copies for a
// 20 KB report. When size was only a guess and the reader yields more,
// the buffer doubles, but never past the limit: a decompression bomb
// stopped at the limit costs the limit, not twice it. (The limit is
// applied here, not by the caller's io.LimitReader, which would be one
// more allocation per call.)
func readAllSized(r io.Reader, limit int64, size int) ([]byte, error) {
	lr := io.LimitedReader{R: r, N: limit}
	b := make([]byte, 0, size+1)
	for {
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) < cap(b) {
			continue
		}
		more := int(min(int64(len(b)), lr.N))
		if more > 0 { // else the limit is reached: the next Read says EOF
			b = append(make([]byte, 0, len(b)+more), b...)
		}
	}
}

var errTooLarge = fmt.Errorf("content over the limit")

// base64Cleaner drops everything that is not base64, as mail readers do
// with line breaks and stray characters, and stops at the padding.
type base64Cleaner struct {
	r    io.Reader
	done bool
}

func (c *base64Cleaner) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	j := 0
	for i := 0; i < n; i++ {
		b := p[i]
		if ('A' <= b && b <= 'Z') || ('a' <= b && b <= 'z') || ('0' <= b && b <= '9') || b == '+' || b == '/' || b == '=' {
			p[j] = b
			j++
		}
	}
	return j, err
}

// text returns the entity's content as UTF-8, converting its charset.
func (e *entity) text(limit int64) (string, error) {
	data, err := e.content(limit)
	if err != nil {
		return "", err
	}
	return decodeCharset(data, e.params["charset"]), nil
}

// decodeCharset converts data to UTF-8. Data that is valid UTF-8 with
// some non-ASCII in it is kept as it is, whatever the part says: decrypted
// inline text is often UTF-8 in a part labelled otherwise, and no 8-bit
// charset's text forms valid UTF-8 sequences by accident. (7-bit charsets
// such as ISO-2022-JP are always converted.) An unknown charset keeps the
// bytes, which are made visible when shown.
func decodeCharset(data []byte, cs string) string {
	if keepsBytes(data, cs) {
		return string(data)
	}
	r, err := charset.Reader(strings.ToLower(strings.TrimSpace(cs)), bytes.NewReader(data))
	if err != nil {
		return string(data)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return string(data)
	}
	return string(out)
}

// keepsBytes reports whether decodeCharset keeps data as it is (see there).
func keepsBytes(data []byte, cs string) bool {
	cs = strings.ToLower(strings.TrimSpace(cs))
	return cs == "" || cs == "utf-8" || cs == "us-ascii" || (isUTF8(data) && hasNonASCII(data))
}

// tidyCharset is tidyText(decodeCharset(data, cs)), without a copy in
// between when the charset keeps the bytes as they are.
func tidyCharset(data []byte, cs string) string {
	if keepsBytes(data, cs) {
		return tidyText(data)
	}
	return tidyText(decodeCharset(data, cs))
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

func isUTF8(b []byte) bool { return utf8.Valid(b) }

// filename is the attachment's name from Content-Disposition or the
// Content-Type name parameter.
func (e *entity) filename() string {
	name := ""
	if _, params, err := mime.ParseMediaType(e.header.get(fieldDisposition)); err == nil || err == mime.ErrInvalidMediaParameter {
		name = params["filename"]
	}
	if name == "" {
		name = e.params["name"]
	}
	if d, err := wordDecoder.DecodeHeader(name); err == nil {
		name = d
	}
	return truncate(strings.TrimSpace(name), 200)
}

// isAttachment tells a file from body text.
func (e *entity) isAttachment() bool {
	disp, _, _ := mime.ParseMediaType(e.header.get(fieldDisposition))
	if strings.EqualFold(disp, "attachment") {
		return true
	}
	if e.filename() != "" {
		return true
	}
	return !strings.HasPrefix(e.mediaType, "text/")
}

// splitMultipart returns the exact bytes of each part of a multipart body
// (RFC 2046 §5.1.1): between a delimiter line and the line break before
// the next one. Lines may end in CRLF or LF. A missing close delimiter
// ends the last part at the end of the body.
func splitMultipart(body []byte, boundary string, maxParts int) ([][]byte, error) {
	if boundary == "" || len(boundary) > 200 {
		return nil, bot.Reject(bot.RejectMalformedMIME, "a multipart entity has no valid boundary")
	}
	// Most multiparts have two to four parts: one allocation for them.
	parts := make([][]byte, 0, 4)
	inPart, start := false, 0
	for pos := 0; pos < len(body); {
		next := len(body)
		line := body[pos:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], pos+i+1
		}
		line = bytes.TrimRight(line, "\r")
		if isDelimiter(line, boundary) {
			rest := line[2+len(boundary):]
			closing := bytes.HasPrefix(rest, []byte("--"))
			if closing {
				rest = rest[2:]
			}
			if len(bytes.Trim(rest, " \t")) == 0 {
				if inPart {
					parts = append(parts, body[start:trimBreak(body, start, pos)])
				}
				if closing {
					return parts, nil
				}
				if len(parts) >= maxParts {
					return nil, bot.Reject(bot.RejectTooManyParts, "more than %d MIME parts", maxParts)
				}
				inPart, start = true, next
			}
		}
		pos = next
	}
	if inPart {
		parts = append(parts, body[start:])
	}
	return parts, nil
}

// isDelimiter reports whether line starts with "--" and boundary (no
// copy of either is made).
func isDelimiter(line []byte, boundary string) bool {
	return len(line) >= 2+len(boundary) && line[0] == '-' && line[1] == '-' && string(line[2:2+len(boundary)]) == boundary
}

// trimBreak returns end moved back over the line break that belongs to the
// delimiter following a part, never before start.
func trimBreak(b []byte, start, end int) int {
	if end > start && b[end-1] == '\n' {
		end--
		if end > start && b[end-1] == '\r' {
			end--
		}
	}
	return end
}

// canonicalCRLF turns bare LF into CRLF: RFC 3156 signatures are made over
// CRLF lines, and mail handed over by an MTA pipe often has LF only. Text
// that has no bare LF is returned as it is.
func canonicalCRLF(b []byte) []byte {
	bare := bytes.Count(b, []byte("\n")) - bytes.Count(b, []byte("\r\n"))
	if bare == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+bare)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b...)
			break
		}
		line := bytes.TrimSuffix(b[:i], []byte("\r"))
		out = append(out, line...)
		out = append(out, "\r\n"...)
		b = b[i+1:]
	}
	return out
}
