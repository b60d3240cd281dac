package email

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// walker visits a message's MIME tree once, counting everything against
// the limits, and collects the report's parts.
type walker struct {
	d              *Decoder
	rep            *bot.Report
	entities       int   // MIME entities and inline OpenPGP blocks so far
	attachments    int   // files so far
	decryptedBytes int64 // plaintext bytes decrypted so far
	keyOps         int   // private-key operations left
	keys           []keyCandidate
	sender         string // the From address of the mail, for comparing with signers (see scope.go)
	from           string // the From address of the message being walked (a forwarded one's own)
	sigs           []bot.Signature
	scope          []int         // the signatures whose content the walk is in
	covers         [][]int       // for each part, the signatures covering it
	overCipher     map[int]bool  // signatures made over data that was then decrypted
	hp             *headerParser // from the decoder's pool
}

func (w *walker) count() error {
	w.entities++
	if w.entities > w.d.limits.MaxParts {
		return bot.Reject(bot.RejectTooManyParts, "the message has more than %d MIME parts and OpenPGP blocks ([intake] max_parts)", w.d.limits.MaxParts)
	}
	return nil
}

// walk visits e. enc says whether e arrived inside encryption.
func (w *walker) walk(e *entity, depth int, enc bool) error {
	if depth > w.d.limits.MaxDepth {
		return bot.Reject(bot.RejectTooDeep, "MIME parts and encryption are nested more than %d levels deep ([intake] max_depth)", w.d.limits.MaxDepth)
	}
	if err := w.count(); err != nil {
		return err
	}
	switch mt := e.mediaType; {
	case mt == "multipart/encrypted":
		return w.pgpMIME(e, depth, enc)
	case mt == "multipart/signed":
		return w.signed(e, depth, enc)
	case mt == "multipart/alternative":
		return w.alternative(e, depth, enc)
	case strings.HasPrefix(mt, "multipart/"):
		children, err := w.children(e, enc)
		if err != nil {
			return err
		}
		for i := range children {
			if err := w.walk(&children[i], depth+1, enc); err != nil {
				return err
			}
		}
		return nil
	case mt == "message/rfc822" || mt == "message/global":
		data, err := e.content(w.d.limits.MaxMessageBytes)
		if err != nil {
			return w.tooLarge()
		}
		inner, err := w.part(data, enc)
		if err != nil {
			return err
		}
		// A forwarded message: its signatures are compared with its own From.
		saved := w.from
		w.from = address(inner.header, fieldFrom)
		defer func() { w.from = saved }()
		return w.walk(inner, depth+1, enc)
	case mt == "text/rfc822-headers" || (strings.HasPrefix(mt, "text/") && e.params["protected-headers"] != "" &&
		!e.header.has(fieldSubject) && !e.isAttachment()):
		// The "legacy display" copy of protected headers (the subject,
		// known already). A text part that carries the protected Subject
		// itself is the whole payload, not a copy.
		return nil
	case e.isAttachment():
		return w.attachment(e, enc)
	default:
		return w.text(e, enc)
	}
}

// tooLarge is a part that decodes (base64, quoted-printable) to more than
// the message may hold: impossible for a message within max_message_size
// unless that decoding grows it, so it counts as the message's size.
func (w *walker) tooLarge() error {
	return bot.Reject(bot.RejectTooLarge, "a part is larger than %d bytes ([intake] max_message_size)", w.d.limits.MaxMessageBytes)
}

// part parses an entity; enc says whether it arrived inside encryption.
func (w *walker) part(raw []byte, enc bool) (*entity, error) {
	return w.hp.parseEntityMemo(raw, w.d.limits.MaxHeaderBytes, w.memo(enc))
}

// memo is the decoder's memo of part headers for an entity outside any
// encryption, and none for one inside (see partMemo).
func (w *walker) memo(enc bool) *partMemo {
	if enc {
		return nil
	}
	return &w.d.parts
}

// children parses the parts of a multipart entity; enc says whether it
// arrived inside encryption.
func (w *walker) children(e *entity, enc bool) ([]entity, error) {
	raw, err := splitMultipart(e.body, e.params["boundary"], w.d.limits.MaxParts)
	if err != nil {
		return nil, err
	}
	out := make([]entity, len(raw))
	for i, r := range raw {
		if err := w.hp.parseEntityInto(&out[i], r, w.d.limits.MaxHeaderBytes, w.memo(enc)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pgpMIME handles RFC 3156 multipart/encrypted: a version part, then the
// encrypted entity.
func (w *walker) pgpMIME(e *entity, depth int, enc bool) error {
	if p := strings.ToLower(e.params["protocol"]); p != "application/pgp-encrypted" {
		return bot.Reject(bot.RejectMalformedMIME, "multipart/encrypted with protocol %q: only OpenPGP (RFC 3156) is supported", truncate(p, 60))
	}
	children, err := w.children(e, enc)
	if err != nil {
		return err
	}
	var payload []byte
	for i := range children {
		c := &children[i]
		if c.mediaType == "application/pgp-encrypted" {
			continue // "Version: 1"
		}
		data, err := c.content(w.d.limits.MaxMessageBytes)
		if err != nil {
			return w.tooLarge()
		}
		if armorType(data) == armorMessage || isBinaryMessage(data) {
			payload = data
			break
		}
	}
	if payload == nil {
		return bot.Reject(bot.RejectMalformedMIME, "a PGP/MIME message without its encrypted part (broken MIME structure, e.g. a wrong boundary)")
	}
	op, err := w.open(payload)
	if err != nil {
		return err
	}
	inner, err := w.hp.parseBody(op.plain, w.d.limits.MaxHeaderBytes)
	if err != nil {
		return err
	}
	inEnc := enc || op.encrypted
	id := w.register(op.sig)
	walkInner := func() error {
		return w.under(id, func() error { return w.walk(inner, depth+1, inEnc) })
	}
	if !op.encrypted {
		return walkInner()
	}
	w.protectedSubject(inner)
	return w.decrypted(walkInner)
}

// protectedSubject takes the subject from the first encrypted entity that
// carries one (protected headers): it wins over the outer, often "...".
//
// A message with no sender outside the encryption (the report page
// encrypts the contact address with the rest) takes its reporter from
// the protected From: a claim of the sender either way, as an outer From
// is.
func (w *walker) protectedSubject(e *entity) {
	if w.rep.From == "" {
		if from := reporterAddress(e, address(e.header, fieldFrom)); from != "" {
			w.rep.From, w.sender, w.from = from, from, from
		}
	}
	if w.rep.SubjectProtected || !e.header.has(fieldSubject) {
		return
	}
	w.rep.Subject = headerText(e.header, fieldSubject)
	w.rep.SubjectProtected = true
}

// signed handles RFC 3156 multipart/signed: the signature covers the first
// part's exact bytes.
func (w *walker) signed(e *entity, depth int, enc bool) error {
	raw, err := splitMultipart(e.body, e.params["boundary"], w.d.limits.MaxParts)
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		return bot.Reject(bot.RejectMalformedMIME, "multipart/signed without parts (broken MIME structure)")
	}
	content, err := w.part(raw[0], enc)
	if err != nil {
		return err
	}
	id := -1
	if len(raw) >= 2 && strings.EqualFold(e.params["protocol"], "application/pgp-signature") {
		sigPart, err := w.part(raw[1], enc)
		if err != nil {
			return err
		}
		if err := w.count(); err != nil {
			return err
		}
		sigData, err := sigPart.content(int64(w.d.limits.MaxHeaderBytes))
		if err != nil {
			return bot.Reject(bot.RejectHeaderTooLarge, "the signature part of a multipart/signed message is larger than %d bytes", w.d.limits.MaxHeaderBytes)
		}
		id = w.register(w.d.verifyDetached(raw[0], sigData))
	}
	if enc {
		w.protectedSubject(content)
	}
	return w.under(id, func() error { return w.walk(content, depth+1, enc) })
}

// alternative reads the plain-text version when there is one, else the
// richest structure, else HTML converted to text.
func (w *walker) alternative(e *entity, depth int, enc bool) error {
	children, err := w.children(e, enc)
	if err != nil || len(children) == 0 {
		if err == nil {
			err = bot.Reject(bot.RejectMalformedMIME, "multipart/alternative without parts")
		}
		return err
	}
	pick := &children[len(children)-1]
	for _, want := range []func(*entity) bool{
		func(c *entity) bool { return c.mediaType == "text/plain" },
		func(c *entity) bool { return strings.HasPrefix(c.mediaType, "multipart/") },
		func(c *entity) bool { return c.mediaType == "text/html" },
	} {
		if i := indexFunc(children, want); i >= 0 {
			pick = &children[i]
			break
		}
	}
	return w.walk(pick, depth+1, enc)
}

func indexFunc(list []entity, f func(*entity) bool) int {
	for i := range list {
		if f(&list[i]) {
			return i
		}
	}
	return -1
}

// open decrypts an OpenPGP message within what is left of the budget.
func (w *walker) open(data []byte) (*opened, error) {
	if err := w.count(); err != nil {
		return nil, err
	}
	budget := w.d.limits.MaxDecryptedBytes - w.decryptedBytes
	if budget <= 0 {
		return nil, bot.Reject(bot.RejectDecryptedTooLarge, "the decrypted parts together are larger than %d bytes ([intake] max_decrypted_size)", w.d.limits.MaxDecryptedBytes)
	}
	op, err := w.d.open(data, budget, &w.keyOps)
	if err != nil {
		return nil, err
	}
	w.decryptedBytes += int64(len(op.plain))
	if !op.encrypted && op.sig.Status != bot.SigNone && isEncryptedMessage(op.plain) {
		// Encrypted, then signed: the signature is over the ciphertext
		// inside. Record it as such, and open what it wraps.
		w.markOverCipher(w.register(op.sig))
		return w.open(op.plain)
	}
	return op, nil
}

// text reads a text part: its charset converted, HTML turned into text,
// and inline OpenPGP blocks decrypted into parts of their own. Text around
// a block stays a separate part with the part's own label.
func (w *walker) text(e *entity, enc bool) error {
	data, err := e.content(w.d.limits.MaxMessageBytes)
	if err != nil {
		return w.tooLarge()
	}
	cs := e.params["charset"]
	fromHTML := e.mediaType == "text/html"
	if !fromHTML && keepsBytes(data, cs) && !bytes.Contains(data, []byte(armorBegin)) {
		// Text as it is, with no OpenPGP block to cut out (most reports):
		// straight to the text, without copying it first. (Converted
		// text, UTF-16 say, is looked at for blocks once converted.)
		if t := tidyText(data); t != "" {
			w.addPart(bot.ReportPart{Kind: bot.PartText, Encrypted: enc, Text: t, Size: len(t)}, -1, false)
		}
		return nil
	}
	text := decodeCharset(data, cs)
	if fromHTML {
		text = htmlToText(text)
	}
	for _, seg := range splitArmor(text) {
		switch seg.kind {
		case "":
			if t := tidyText(seg.text); t != "" {
				w.addPart(bot.ReportPart{Kind: bot.PartText, Encrypted: enc, Text: t, Size: len(t), FromHTML: fromHTML}, -1, false)
			}
		case armorMessage:
			op, err := w.open([]byte(seg.text))
			if err != nil {
				return err
			}
			t := tidyCharset(op.plain, cs)
			w.addPart(bot.ReportPart{Kind: bot.PartText, Encrypted: enc || op.encrypted, Text: t, Size: len(op.plain)}, w.register(op.sig), op.encrypted)
		case armorSigned:
			if err := w.count(); err != nil {
				return err
			}
			t, sig, err := w.d.clearSigned([]byte(seg.text))
			if err != nil {
				return err
			}
			w.addPart(bot.ReportPart{Kind: bot.PartText, Encrypted: enc, Text: tidyText(t), Size: len(t)}, w.register(sig), false)
		case armorKey:
			if err := w.count(); err != nil {
				return err
			}
			w.keys = append(w.keys, publicKeys([]byte(seg.text), keySource(enc))...)
		}
	}
	return nil
}

func keySource(enc bool) string {
	if enc {
		return "attached, encrypted"
	}
	return "attached"
}

// armorBegin starts every armored block splitArmor cuts out.
const armorBegin = "-----BEGIN PGP "

// segment is a run of text or one armored block.
type segment struct {
	kind string // "" for text, else the armor type
	text string
}

// splitArmor cuts text into plain runs and armored blocks (messages,
// cleartext-signed text, public keys). A block without its end line runs
// to the end of the text, where decoding it fails as truncated.
func splitArmor(text string) []segment {
	if !strings.Contains(text, armorBegin) {
		return []segment{{text: text}}
	}
	var out []segment
	var cur strings.Builder
	lines := strings.SplitAfter(text, "\n")
	for i := 0; i < len(lines); i++ {
		kind := ""
		switch strings.TrimSpace(lines[i]) {
		case "-----BEGIN PGP MESSAGE-----":
			kind = armorMessage
		case "-----BEGIN PGP SIGNED MESSAGE-----":
			kind = armorSigned
		case "-----BEGIN PGP PUBLIC KEY BLOCK-----":
			kind = armorKey
		}
		if kind == "" {
			cur.WriteString(lines[i])
			continue
		}
		if cur.Len() > 0 {
			out = append(out, segment{text: cur.String()})
			cur.Reset()
		}
		end := "-----END " + kind + "-----"
		if kind == armorSigned {
			end = "-----END PGP SIGNATURE-----"
		}
		var block strings.Builder
		for ; i < len(lines); i++ {
			line := lines[i]
			if kind != armorSigned {
				line = strings.TrimLeft(line, " \t") // indented by a mail client
			}
			block.WriteString(line)
			if strings.TrimSpace(lines[i]) == end {
				break
			}
		}
		out = append(out, segment{kind: kind, text: block.String()})
	}
	if cur.Len() > 0 {
		out = append(out, segment{text: cur.String()})
	}
	return out
}

// autocrypt reads an Autocrypt header (addr=...; keydata=...). Its key
// counts only for the address the message is from.
func (w *walker) autocrypt(v string) {
	attrs := map[string]string{}
	for _, kv := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok {
			attrs[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
		}
	}
	addr, data := attrs["addr"], attrs["keydata"]
	if addr == "" || data == "" || len(data) > 64<<10 || !strings.EqualFold(addr, w.rep.From) {
		return
	}
	key, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data), ""))
	if err != nil {
		return
	}
	for _, k := range publicKeys(key, "Autocrypt") {
		if hasAddress(k.entity, addr) {
			w.keys = append(w.keys, k)
		}
	}
}
