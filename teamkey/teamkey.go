// Package teamkey holds the security team's OpenPGP key: loaded from an
// armored file and unlocked once at start, or generated for the demo. It
// encrypts plaintext submissions to the team before they are stored, and
// the intake pipeline decrypts reports with it.
package teamkey

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Key is the team's unlocked secret key.
type Key struct {
	entity *openpgp.Entity
	// retired are earlier team keys: they still decrypt what was
	// encrypted to them, and nothing is encrypted to them any more.
	retired []*Key
}

// Load reads an armored secret key and unlocks it with passphrase (empty
// for a key without one). It refuses public-only keys, several keys in one
// file, and keys that are revoked or cannot encrypt now (an *UnusableError:
// such a key may still serve as a retired key, see LoadRetired).
func Load(armored []byte, passphrase []byte) (*Key, error) {
	k, err := load(armored, passphrase)
	if err != nil {
		return nil, err
	}
	if err := k.Usable(time.Now()); err != nil {
		return nil, err
	}
	return k, nil
}

func load(armored []byte, passphrase []byte) (*Key, error) {
	list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("reading the team key: %w (expected an ASCII-armored secret key, e.g. from gpg --export-secret-keys --armor)", err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("the team key file holds %d keys; it must hold exactly one", len(list))
	}
	e := list[0]
	if e.PrivateKey == nil {
		return nil, errors.New("the team key file holds only a public key; export the secret key (gpg --export-secret-keys --armor)")
	}
	if encrypted(e) {
		if len(passphrase) == 0 {
			return nil, errors.New("the team key is protected by a passphrase; set [keys] passphrase_file or $SECTRIAGE_TEAM_PASSPHRASE")
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("unlocking the team key: wrong passphrase? (%v)", err)
		}
	}
	return &Key{entity: e}, nil
}

func encrypted(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return true
	}
	for _, sk := range e.Subkeys {
		if sk.PrivateKey != nil && sk.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// Generate makes a new Ed25519/X25519 key, for the demo's throw-away team.
func Generate(name, email string, now time.Time) (*Key, error) {
	cfg := &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA,
		Curve:     packet.Curve25519,
		Time:      func() time.Time { return now },
	}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("generating a key: %w", err)
	}
	return &Key{entity: e}, nil
}

// Entity exposes the key for decryption and signing.
func (k *Key) Entity() *openpgp.Entity { return k.entity }

// Keyring is the key as a keyring, for openpgp.ReadMessage.
func (k *Key) Keyring() openpgp.EntityList { return openpgp.EntityList{k.entity} }

// Fingerprint is the primary key's fingerprint in upper-case hex.
func (k *Key) Fingerprint() string { return fmt.Sprintf("%X", k.entity.PrimaryKey.Fingerprint) }

// Expires returns when the key expires; ok is false when it never does.
func (k *Key) Expires() (t time.Time, ok bool) {
	sig, _ := k.entity.PrimarySelfSignature()
	if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}, false
	}
	return k.entity.PrimaryKey.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second), true
}

// UserID is the key's primary identity ("Security Team <security@...>").
func (k *Key) UserID() string {
	if id := k.entity.PrimaryIdentity(); id != nil {
		return id.Name
	}
	return ""
}

// ArmoredPublic is the public key to publish (security.txt Encryption).
func (k *Key) ArmoredPublic() ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := k.entity.Serialize(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// ArmoredSecret exports the secret key, locked with passphrase when not
// empty (the demo writes its throw-away key this way).
func (k *Key) ArmoredSecret(passphrase []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	e := k.entity
	if len(passphrase) > 0 {
		// Lock a copy: this key stays unlocked for decryption.
		var plain bytes.Buffer
		if err := k.entity.SerializePrivateWithoutSigning(&plain, nil); err != nil {
			return nil, err
		}
		copied, err := openpgp.ReadKeyRing(&plain)
		if err != nil {
			return nil, err
		}
		e = copied[0]
		if err := e.EncryptPrivateKeys(passphrase, nil); err != nil {
			return nil, err
		}
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// Encrypt encrypts plaintext to the team key (armored), so that a report
// that arrived in plaintext is never stored as such.
func (k *Key) Encrypt(plaintext []byte) ([]byte, error) {
	return EncryptTo(plaintext, k.entity, nil)
}

// EncryptTo encrypts plaintext to recipient, signed by signer when not nil.
func EncryptTo(plaintext []byte, recipient, signer *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	aw, err := armor.Encode(&buf, "PGP MESSAGE", nil)
	if err != nil {
		return nil, err
	}
	w, err := openpgp.Encrypt(aw, []*openpgp.Entity{recipient}, signer, &openpgp.FileHints{IsBinary: true}, nil)
	if err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// DecryptSimple decrypts a message encrypted to the key or a retired one
// and returns the plaintext, reading it to the end before checking
// integrity. Intake has
// its own bounded, MIME-aware path; this serves stored plaintext
// submissions and tests.
func (k *Key) DecryptSimple(armored []byte, limit int64) ([]byte, error) {
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("reading armor: %w", err)
	}
	cfg := &packet.Config{MaxDecompressedMessageSize: &limit}
	md, err := openpgp.ReadMessage(block.Body, k.DecryptionKeyring(), nil, cfg)
	if err != nil {
		return nil, fmt.Errorf("decrypting: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, limit+1))
	if err != nil {
		return nil, fmt.Errorf("decrypting: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("decrypted message is larger than %d bytes", limit)
	}
	// Integrity (MDC/AEAD) failures surface from the read above; a
	// signature on a stored submission is not this function's concern.
	return body, nil
}

// DeriveSecret derives a 32-byte secret for label from the unlocked
// secret key: whoever holds the team key can recompute it, nobody else
// can. Intake keys its deduplication hash with it.
func (k *Key) DeriveSecret(label string) ([]byte, error) {
	var material bytes.Buffer
	if err := k.entity.PrivateKey.Serialize(&material); err != nil {
		return nil, fmt.Errorf("deriving a secret from the team key: %w", err)
	}
	return hkdf.Key(sha256.New, material.Bytes(), nil, "sectriage "+label, 32)
}

// SigningKey is the private key that signs for the team (security.txt,
// mail to reporters).
func (k *Key) SigningKey(now time.Time) (*packet.PrivateKey, error) {
	sk, ok := k.entity.SigningKey(now)
	if !ok || sk.PrivateKey == nil {
		return nil, fmt.Errorf("the team key %s has no usable signing key", k.Fingerprint())
	}
	return sk.PrivateKey, nil
}
