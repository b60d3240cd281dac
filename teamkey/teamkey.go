// Package teamkey holds the security team's OpenPGP key: loaded from an
// armored file, or generated for the demo. It encrypts plaintext
// submissions to the team before they are stored, and the intake pipeline
// decrypts reports with it.
//
// Unlocking a passphrase-protected key is slow on purpose: GnuPG protects
// each secret key with an iterated S2K (65,011,712 bytes of hashing by
// default, ~50 ms in go-crypto), primary key and subkey separately. So a
// key is loaded locked and each secret key is unlocked when first needed:
// a message (or the database's wrapped data key) decrypts with the subkey
// its encrypted session key names, a signature needs the signing key, and
// a process that never decrypts unlocks nothing. The daemon unlocks all of
// them, the retired keys' too, at start (Unlock), which also tells a
// wrong passphrase at once.
package teamkey

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Key is the team's secret key, each part unlocked when first needed.
type Key struct {
	entity *openpgp.Entity
	// secrets unlock the entity; every Key value made from this one
	// shares them, so that one entity has one lock.
	secrets *secrets
	// retired are earlier team keys: they still decrypt what was
	// encrypted to them, and nothing is encrypted to them any more. Each
	// keeps its own secrets (its passphrase may differ).
	retired []*Key
	// name says where the key came from ("retired team key old.asc"), for
	// errors that show only when it is unlocked; empty: its fingerprint.
	name string
}

var noSecrets secrets

// secrets are what unlocks a key's secret keys. mu serialises unlocking:
// each secret key is unlocked before any decryption or signature that
// uses it begins, and never locked again, so readers of an unlocked key
// need no lock.
type secrets struct {
	mu         sync.Mutex
	passphrase []byte
}

// Load reads an armored secret key, keeping passphrase (empty for a key
// without one) to unlock its parts when they are first used. It refuses
// public-only keys, several keys in one file, a protected key without a
// passphrase, and keys that are revoked or cannot encrypt now (an
// *UnusableError: such a key may still serve as a retired key, see
// LoadRetired); a wrong passphrase shows at the first unlock (see Unlock).
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
	if encrypted(e) && len(passphrase) == 0 {
		return nil, errors.New("the team key is protected by a passphrase; set [keys] passphrase_file or $SECTRIAGE_TEAM_PASSPHRASE")
	}
	return &Key{entity: e, secrets: &secrets{passphrase: bytes.Clone(passphrase)}}, nil
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
	return &Key{entity: e, secrets: &secrets{}}, nil
}

// Entity exposes the key: its public parts for encryption and keyrings.
// Its secret keys may be locked: decrypt through UnlockFor (or
// DecryptSimple), sign through Signer or SigningKey.
func (k *Key) Entity() *openpgp.Entity { return k.entity }

// Unlock unlocks every secret key, the retired keys' too, so that nothing
// is unlocked later: the daemon calls it at start, to refuse a wrong
// passphrase at once and to hold the keys unlocked for every message.
func (k *Key) Unlock() error {
	for i, key := range k.decrypting() {
		var all []*packet.PrivateKey
		if key.entity.PrivateKey != nil {
			all = append(all, key.entity.PrivateKey)
		}
		for _, sk := range key.entity.Subkeys {
			all = append(all, sk.PrivateKey)
		}
		if err := key.unlock(all); err != nil {
			if i > 0 && key.name == "" {
				return fmt.Errorf("a retired key: %w", err)
			}
			return err
		}
	}
	return nil
}

// UnlockFor unlocks the decryption keys, the current key's and the
// retired keys', that encrypted session keys name by key ID (0, a hidden
// recipient, names all of them), and no other: call it before
// openpgp.ReadMessage on DecryptionKeyring with the IDs of the message's
// PKESK packets. IDs of other keys are ignored.
func (k *Key) UnlockFor(keyIDs []uint64) error {
	for i, key := range k.decrypting() {
		ring := key.Keyring()
		var named []*packet.PrivateKey
		for _, id := range keyIDs {
			// The keys openpgp.ReadMessage tries for each ID.
			keys := ring.KeysById(id)
			if id == 0 {
				keys = ring.DecryptionKeys()
			}
			for _, key := range keys {
				named = append(named, key.PrivateKey)
			}
		}
		if err := key.unlock(named); err != nil {
			if i > 0 && key.name == "" {
				return fmt.Errorf("a retired key: %w", err)
			}
			return err
		}
	}
	return nil
}

// Named is k with errors that show when it is unlocked (a wrong
// passphrase) saying name, where the key came from, and not only its
// fingerprint. It shares k's secrets.
func (k *Key) Named(name string) *Key {
	out := *k
	out.name = name
	return &out
}

// decrypting is the current key and then the retired ones, each with its
// own secrets.
func (k *Key) decrypting() []*Key { return append([]*Key{k}, k.retired...) }

// unlock decrypts the given secret keys that are still locked.
func (k *Key) unlock(keys []*packet.PrivateKey) error {
	s := k.secrets
	if s == nil {
		s = &noSecrets // a Key made without Load or Generate: nothing to unlock it with
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pk := range keys {
		if pk == nil || !pk.Encrypted || pk.Dummy() {
			continue
		}
		if err := pk.Decrypt(s.passphrase); err != nil {
			who := "the team key " + k.Fingerprint()
			if k.name != "" {
				who = k.name + " (" + k.Fingerprint() + ")"
			}
			return fmt.Errorf("unlocking %s: wrong passphrase? (%v)", who, err)
		}
	}
	return nil
}

// Signer returns the entity with its signing key unlocked, for signing
// while encrypting (openpgp.Encrypt's signed argument).
func (k *Key) Signer(now time.Time) (*openpgp.Entity, error) {
	if _, err := k.SigningKey(now); err != nil {
		return nil, err
	}
	return k.entity, nil
}

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
	if err := k.Unlock(); err != nil {
		return nil, err
	}
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
	raw, err := io.ReadAll(io.LimitReader(block.Body, int64(len(armored))))
	if err != nil {
		return nil, fmt.Errorf("reading armor: %w", err)
	}
	if err := k.UnlockFor(Recipients(raw)); err != nil {
		return nil, err
	}
	cfg := &packet.Config{MaxDecompressedMessageSize: &limit}
	md, err := openpgp.ReadMessage(bytes.NewReader(raw), k.DecryptionKeyring(), nil, cfg)
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

// Recipients returns the key IDs that a binary OpenPGP message's
// encrypted session keys name, read from the packets before its encrypted
// data (0 for a hidden recipient).
func Recipients(raw []byte) []uint64 {
	var ids []uint64
	pr := packet.NewReader(bytes.NewReader(raw))
	for {
		p, err := pr.Next()
		if err != nil {
			return ids
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			ids = append(ids, p.KeyId)
		case *packet.SymmetricKeyEncrypted:
		default:
			return ids
		}
	}
}

// DeriveSecret derives a 32-byte secret for label from the secret
// material of the team's first decryption subkey (its encryption subkey,
// for a key made by GnuPG; the primary key if there is none): whoever holds the team key can recompute it,
// nobody else can. It is the key reports are encrypted to, so intake,
// which keys its deduplication hash with this secret, unlocks no other.
func (k *Key) DeriveSecret(label string) ([]byte, error) {
	dk := k.entity.PrivateKey // a key without subkeys encrypts with its primary
	if keys := k.Keyring().DecryptionKeys(); len(keys) > 0 {
		dk = keys[0].PrivateKey
	}
	if err := k.unlock([]*packet.PrivateKey{dk}); err != nil {
		return nil, err
	}
	// Never from locked or absent material: that is public, or nothing.
	if dk == nil || dk.Encrypted || dk.Dummy() {
		return nil, fmt.Errorf("deriving a secret from the team key %s: its decryption key holds no usable secret material", k.Fingerprint())
	}
	var material bytes.Buffer
	if err := dk.Serialize(&material); err != nil {
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
	if err := k.unlock([]*packet.PrivateKey{sk.PrivateKey}); err != nil {
		return nil, err
	}
	return sk.PrivateKey, nil
}
