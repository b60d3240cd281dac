package email

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sectriage/sectriage/bot"
)

// chooseKey picks the key replies to the reporter are encrypted to, most
// trustworthy first: the known key that verifiably signed the whole
// report and has the sender's From address as a user id (a key that
// signed only a part, only the ciphertext, or for another address is not
// the reporter's: a forwarded or re-signed message would hand us the
// wrong key); a
// key for the sender's address sent inside the encryption, in an Autocrypt
// header, or attached in the clear; the only key sent inside the
// encryption; a known key for the sender's address.
func (w *walker) chooseKey() {
	from := w.rep.From
	// serialized is e's binary form when known already (a known key's),
	// else nil.
	pick := func(e *openpgp.Entity, source string, serialized []byte) bool {
		if e == nil {
			return false
		}
		if _, ok := e.EncryptionKey(time.Now()); !ok {
			return false
		}
		if serialized == nil {
			var buf bytes.Buffer
			if err := e.Serialize(&buf); err != nil {
				return false
			}
			serialized = buf.Bytes()
		} else {
			serialized = bytes.Clone(serialized) // each report its own
		}
		w.rep.ReporterKey = serialized
		w.rep.ReporterKeyFingerprint = upperHex(e.PrimaryKey.Fingerprint)
		w.rep.ReporterKeySource = source
		return true
	}
	if s := w.rep.Signature; s.Status == bot.SigVerified && !s.FromMismatch {
		if k, ok := w.d.knownKeys()[strings.ToUpper(s.Fingerprint)]; ok && pick(k.entity, "verified signer", k.serialized) {
			return
		}
	}
	for _, source := range []string{keySource(true), "Autocrypt", keySource(false)} {
		for _, k := range w.keys {
			if k.source == source && hasAddress(k.entity, from) && pick(k.entity, source, nil) {
				return
			}
		}
	}
	var inside []keyCandidate
	for _, k := range w.keys {
		if k.source == keySource(true) {
			inside = append(inside, k)
		}
	}
	if len(inside) == 1 && pick(inside[0].entity, inside[0].source, nil) {
		return
	}
	for _, e := range w.d.known {
		if hasAddress(e, from) && pick(e, "known keys", w.d.serializedKnown(e)) {
			return
		}
	}
}

// serializedKnown is the binary form of e, a known key, if indexed.
func (d *Decoder) serializedKnown(e *openpgp.Entity) []byte {
	if k := d.knownKeys()[upperHex(e.PrimaryKey.Fingerprint)]; k.entity == e {
		return k.serialized
	}
	return nil
}

// knownKey is a known key (not the team key) with its binary form, which
// every report that picks it would otherwise serialize again.
type knownKey struct {
	entity     *openpgp.Entity
	serialized []byte // nil if it cannot be serialized
}

// indexKnownKeys indexes known by primary fingerprint (upper-case hex);
// of keys with the same fingerprint the first counts.
func indexKnownKeys(known openpgp.EntityList) map[string]knownKey {
	index := make(map[string]knownKey, len(known))
	for _, e := range known {
		fp := upperHex(e.PrimaryKey.Fingerprint)
		if _, dup := index[fp]; dup {
			continue
		}
		var buf bytes.Buffer
		k := knownKey{entity: e}
		if e.Serialize(&buf) == nil {
			k.serialized = buf.Bytes()
		}
		index[fp] = k
	}
	return index
}

// upperHex is b in upper-case hex, as fingerprints are shown (fmt's %X).
func upperHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	var s strings.Builder
	s.Grow(2 * len(b))
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&0xf])
	}
	return s.String()
}

// keyIDHex is a key ID as it is shown (fmt's %016X).
func keyIDHex(id uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return upperHex(b[:])
}
