// Package email is sectriage's mail side: it decodes reports (MIME and
// OpenPGP, with every bound enforced), fetches them from IMAP, accepts them
// from a web form, mails reporters over SMTP, and serves security.txt.
//
// Decrypting untrusted input is the most dangerous thing sectriage does.
// The rules here: bound every size, count and depth; read a decrypted
// body to its end and check its integrity before using any of it; refuse
// encryption without integrity protection; keep text from outside the
// encryption apart and labelled; recover from any parser panic.
package email

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/teamkey"

	// Reports come in every charset; without this only UTF-8 and ASCII decode.
	_ "github.com/emersion/go-message/charset"
)

// Decoder reads reports: it implements bot.ReportDecoder and bot.Sealer.
type Decoder struct {
	team      *teamkey.Key
	teamKeyID string
	keyring   openpgp.EntityList // the team keys (current, retired), then the known keys
	// teamKeyIDs are the IDs of the team's decryption keys.
	teamKeyIDs map[uint64]bool
	known      openpgp.EntityList
	limits     Limits
	// hashKey derives the deduplication key when first needed: deriving
	// it unlocks a secret key, which a command that never reads a report
	// must not pay for.
	hashKey func() ([]byte, error)
	// knownKeys indexes known, when first needed.
	knownKeys func() map[string]knownKey
	memo      topMemo
	parts     partMemo
	parsers   sync.Pool // of *headerParser, scrubbed, for walkers
	log       *slog.Logger
}

var (
	_ bot.ReportDecoder = (*Decoder)(nil)
	_ bot.Sealer        = (*Decoder)(nil)
)

// NewDecoder makes a decoder for reports to the team key. known are the
// public keys whose signatures count as verified (see LoadKnownKeys).
func NewDecoder(team *teamkey.Key, known openpgp.EntityList, limits Limits, log *slog.Logger) (*Decoder, error) {
	hashKey := sync.OnceValues(func() ([]byte, error) { return team.DeriveSecret("intake dedupe v2") })
	// Retired team keys decrypt too: reporters encrypt to the key they
	// found, and stored copies stay encrypted to the key of their day.
	ring := append(team.DecryptionKeyring(), known...)
	ids := map[uint64]bool{}
	for _, k := range team.DecryptionKeyring().DecryptionKeys() {
		ids[k.PublicKey.KeyId] = true
	}
	fp := team.Fingerprint()
	return &Decoder{
		team: team, teamKeyID: fp[len(fp)-16:], keyring: ring, known: known, teamKeyIDs: ids,
		limits: limits.withDefaults(), hashKey: hashKey, log: log,
		knownKeys: sync.OnceValue(func() map[string]knownKey { return indexKnownKeys(known) }),
	}, nil
}

// Limits returns the bounds in force.
func (d *Decoder) Limits() Limits { return d.limits }

// Envelope implements bot.ReportDecoder: Message-ID and sender from the
// header, and whether the message must be sealed before it is stored.
func (d *Decoder) Envelope(raw []byte) (env bot.Envelope) {
	env.Seal = true
	defer func() {
		if recover() != nil {
			env = bot.Envelope{Seal: true}
		}
	}()
	e, from, err := d.top(stripMboxFrom(raw))
	if err != nil {
		return env
	}
	env.MessageID = messageID(e.header.get(fieldMessageID))
	env.Sender = reporterAddress(&e, from)
	// Only a PGP/MIME message is encrypted end to end as received. Anything
	// else (inline PGP with text around it, an encrypted attachment beside
	// a plaintext body, plaintext) may hold plaintext and is sealed.
	env.Seal = !(e.mediaType == "multipart/encrypted" && strings.EqualFold(e.params["protocol"], "application/pgp-encrypted"))
	return env
}

func messageID(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 250 || strings.ContainsAny(v, "\r\n") {
		return ""
	}
	return v
}

// references reads the Message-IDs of In-Reply-To and References (at
// most 20: a thread's newest end is what a reply names).
func references(v string) []string {
	var out []string
	for len(out) < 20 {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		if id := messageID(v[i : i+j+1]); id != "" && !strings.ContainsAny(id, " \t") {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
	return out
}

// reporterAddress is where replies to e go: its Reply-To, else from (its
// From address, which the caller has read already).
func reporterAddress(e *entity, from string) string {
	if !e.header.has(fieldReplyTo) {
		return from
	}
	if a := address(e.header, fieldReplyTo); a != "" && strings.Contains(a, "@") {
		return a
	}
	return from
}

// Decode implements bot.ReportDecoder. It never panics: a panic in any
// parser becomes a parser-crash rejection.
func (d *Decoder) Decode(raw []byte) (rep *bot.Report, err error) {
	defer func() {
		if p := recover(); p != nil {
			if d.log != nil {
				d.log.Error("message parser panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			rep, err = nil, bot.Reject(bot.RejectParserCrash, "a parser failed on this message (a bug; the message is kept)")
		}
	}()
	if int64(len(raw)) > d.limits.MaxMessageBytes {
		return nil, bot.Reject(bot.RejectTooLarge, "the message is larger than %d bytes ([intake] max_message_size)", d.limits.MaxMessageBytes)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, bot.Reject(bot.RejectMalformedMIME, "the message is empty")
	}
	top, from, err := d.top(stripMboxFrom(raw))
	if err != nil {
		return nil, err
	}
	hp, _ := d.parsers.Get().(*headerParser)
	if hp == nil {
		hp = new(headerParser)
	}
	defer func() {
		hp.scrub()
		d.parsers.Put(hp)
	}()
	w := &walker{d: d, rep: &bot.Report{}, keyOps: d.limits.MaxRecipients, sender: from, from: from, hp: hp}
	w.rep.MessageID = messageID(top.header.get(fieldMessageID))
	w.rep.From = reporterAddress(&top, w.sender)
	w.rep.Subject = headerText(top.header, fieldSubject)
	w.rep.Recipients = addresses(top.header, fieldTo, fieldCc, fieldDeliveredTo, fieldOriginalTo)
	w.rep.References = references(top.header.get(fieldInReplyTo) + " " + top.header.get(fieldReferences))
	w.rep.AutoSubmitted = autoSubmitted(&top)
	if ac := top.header.get(fieldAutocrypt); ac != "" {
		w.autocrypt(ac)
	}
	if err := w.walk(&top, 0, false); err != nil {
		return nil, err
	}
	w.settleSignatures()
	w.chooseKey()
	return w.rep, nil
}

// autoSubmitted recognises bounces and auto-replies (RFC 3834), which must
// never be answered automatically.
func autoSubmitted(e *entity) bool {
	as := strings.ToLower(strings.TrimSpace(e.header.get(fieldAutoSubmitted)))
	if as != "" && as != "no" {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(e.header.get(fieldPrecedence))) {
	case "bulk", "list", "junk", "auto_reply":
		return true
	}
	return e.mediaType == "multipart/report"
}

// Seal implements bot.Sealer: the message encrypted to the team key.
func (d *Decoder) Seal(raw []byte) ([]byte, error) { return d.team.Encrypt(raw) }

// Unseal implements bot.Sealer.
func (d *Decoder) Unseal(sealed []byte) ([]byte, error) {
	return d.team.DecryptSimple(sealed, d.limits.MaxMessageBytes+1<<20)
}

// Hash implements bot.Sealer: HMAC-SHA256 keyed by a secret derived from
// the team key.
func (d *Decoder) Hash(raw []byte) (string, error) {
	key, err := d.hashKey()
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write(raw)
	var sum [sha256.Size]byte
	var hexSum [2 * sha256.Size]byte
	hex.Encode(hexSum[:], m.Sum(sum[:0]))
	return "hmac-sha256:" + string(hexSum[:]), nil
}

// IsOpenPGPMessage reports whether data is an OpenPGP message, armored or
// binary (the web form uses it to tell a client-side encrypted report).
func IsOpenPGPMessage(data []byte) bool {
	t := armorType(data)
	return t == armorMessage || (t == "" && isBinaryMessage(data))
}
