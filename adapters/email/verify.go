package email

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/sectriage/sectriage/bot"
)

// LoadKnownKeys reads every public key file (.asc, .gpg, .pgp, .key) in
// dir: the reporters and team members whose signatures count as
// "verified". Secret keys in it are refused: the directory is for public
// keys, and a secret key there is a leak waiting to happen. A file that
// cannot be read is reported and skipped, so one bad file does not hide
// the others.
func LoadKnownKeys(dir string) (openpgp.EntityList, []error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []error{fmt.Errorf("known keys: %w", err)}
	}
	var list openpgp.EntityList
	var errs []error
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".asc", ".gpg", ".pgp", ".key":
		default:
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("known key %s: %w", name, err))
			continue
		}
		keys, err := readKeys(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("known key %s: %w", name, err))
			continue
		}
		for _, k := range keys {
			if k.PrivateKey != nil {
				errs = append(errs, fmt.Errorf("known key %s holds a secret key; put only public keys there (gpg --export --armor)", name))
				keys = nil
				break
			}
		}
		list = append(list, keys...)
	}
	return list, errs
}

// readKeys reads armored or binary public keys.
func readKeys(data []byte) (openpgp.EntityList, error) {
	if armorType(data) != "" {
		return openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	}
	return openpgp.ReadKeyRing(bytes.NewReader(data))
}

// verifyDetached checks an RFC 3156 multipart/signed signature over the
// exact bytes of the signed part, with its line ends made CRLF.
func (d *Decoder) verifyDetached(signed, sigData []byte) bot.Signature {
	body := sigData
	if armorType(sigData) != "" {
		block, err := armor.Decode(bytes.NewReader(sigData))
		if err != nil {
			return bot.Signature{Status: bot.SigBad, Problem: "damaged signature armor"}
		}
		if body, err = readAllSized(block.Body, int64(len(sigData)), len(sigData)/4*3+3); err != nil {
			return bot.Signature{Status: bot.SigBad, Problem: "damaged signature armor"}
		}
	}
	s := bot.Signature{KeyID: issuer(body)}
	_, signer, err := openpgp.VerifyDetachedSignature(d.keyring, bytes.NewReader(canonicalCRLF(signed)), bytes.NewReader(body), nil)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		s.Status = bot.SigUnknownKey
	case err != nil:
		s.Status, s.Problem = bot.SigBad, pgpError(err)
	default:
		s.Status = bot.SigVerified
		d.describeSigner(&s, signer)
	}
	return s
}

// issuer returns the key ID of the first signature packet in body.
func issuer(body []byte) string {
	pr := packet.NewReader(bytes.NewReader(body))
	for i := 0; i < 16; i++ {
		p, err := pr.Next()
		if err != nil {
			return ""
		}
		if sig, ok := p.(*packet.Signature); ok {
			if sig.IssuerKeyId != nil {
				return keyIDHex(*sig.IssuerKeyId)
			}
			if len(sig.IssuerFingerprint) >= 8 {
				return upperHex(sig.IssuerFingerprint[len(sig.IssuerFingerprint)-8:])
			}
			return ""
		}
	}
	return ""
}

// clearSigned reads a cleartext-signed block: its text and its signature.
func (d *Decoder) clearSigned(data []byte) (string, bot.Signature, error) {
	block, _ := clearsign.Decode(data)
	if block == nil {
		return "", bot.Signature{}, bot.Reject(bot.RejectBadArmor, "a cleartext-signed block is damaged")
	}
	sigBody, err := readAllSized(block.ArmoredSignature.Body, int64(len(data)), 1024)
	if err != nil {
		return "", bot.Signature{}, bot.Reject(bot.RejectBadArmor, "the signature of a cleartext-signed block is damaged")
	}
	s := bot.Signature{KeyID: issuer(sigBody)}
	_, signer, err := openpgp.VerifyDetachedSignature(d.keyring, bytes.NewReader(block.Bytes), bytes.NewReader(sigBody), nil)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		s.Status = bot.SigUnknownKey
	case err != nil:
		s.Status, s.Problem = bot.SigBad, pgpError(err)
	default:
		s.Status = bot.SigVerified
		d.describeSigner(&s, signer)
	}
	return string(block.Plaintext), s, nil
}

// maxKeyBytes bounds a key offered in a message.
const maxKeyBytes = 256 << 10

// keyCandidate is a public key a message offers for replies.
type keyCandidate struct {
	entity *openpgp.Entity
	source string
}

// publicKeys reads keys offered in a message (an attachment, a pasted
// block, an Autocrypt header), keeping only public keys that can encrypt
// now. Anything unreadable is ignored: a broken key costs the reporter an
// unencrypted acknowledgement, not their report.
func publicKeys(data []byte, source string) []keyCandidate {
	if len(data) > maxKeyBytes {
		return nil // no reporter's key is this large; parsing it would only cost time
	}
	keys, err := readKeys(data)
	if err != nil {
		return nil
	}
	var out []keyCandidate
	for _, e := range keys {
		if _, ok := e.EncryptionKey(time.Now()); ok {
			e.PrivateKey = nil // never keep a secret key a reporter pasted by mistake
			for _, sk := range e.Subkeys {
				sk.PrivateKey = nil
			}
			out = append(out, keyCandidate{entity: e, source: source})
		}
	}
	return out
}

// hasAddress reports whether one of the key's user ids is addr.
func hasAddress(e *openpgp.Entity, addr string) bool {
	for _, id := range e.Identities {
		if id.UserId != nil && strings.EqualFold(id.UserId.Email, addr) {
			return true
		}
	}
	return false
}
