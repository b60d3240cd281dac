package email

import (
	"bytes"
	"fmt"
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
	pick := func(e *openpgp.Entity, source string) bool {
		if e == nil {
			return false
		}
		if _, ok := e.EncryptionKey(time.Now()); !ok {
			return false
		}
		var buf bytes.Buffer
		if err := e.Serialize(&buf); err != nil {
			return false
		}
		w.rep.ReporterKey = buf.Bytes()
		w.rep.ReporterKeyFingerprint = fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
		w.rep.ReporterKeySource = source
		return true
	}
	if s := w.rep.Signature; s.Status == bot.SigVerified && !s.FromMismatch && pick(w.d.knownKey(s.Fingerprint), "verified signer") {
		return
	}
	for _, source := range []string{keySource(true), "Autocrypt", keySource(false)} {
		for _, k := range w.keys {
			if k.source == source && hasAddress(k.entity, from) && pick(k.entity, source) {
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
	if len(inside) == 1 && pick(inside[0].entity, inside[0].source) {
		return
	}
	for _, e := range w.d.known {
		if hasAddress(e, from) && pick(e, "known keys") {
			return
		}
	}
}

// knownKey finds a known key (not the team key) by primary fingerprint.
func (d *Decoder) knownKey(fingerprint string) *openpgp.Entity {
	for _, e := range d.known {
		if strings.EqualFold(fmt.Sprintf("%X", e.PrimaryKey.Fingerprint), fingerprint) {
			return e
		}
	}
	return nil
}
