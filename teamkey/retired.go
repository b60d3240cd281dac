package teamkey

import (
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// ErrUnusable marks a team key that cannot be the current one: revoked,
// expired, or without an encryption subkey valid now. Nothing new may be
// encrypted to it, but it still decrypts (see LoadRetired).
var ErrUnusable = errors.New("the team key cannot be the current key")

// UnusableError says why a key cannot be the current team key, and how to
// fix that.
type UnusableError struct {
	Fingerprint string
	Reason      string // "is revoked", "expired on 2026-01-02", ...
}

func (e *UnusableError) Error() string {
	return fmt.Sprintf("team key %s %s: reporters cannot encrypt to it and sectriage encrypts nothing new to it. "+
		"Rotate: make a new team key, make it [keys] team_key_file, and list this one under [[keys.retired]] "+
		"so that reports and data encrypted to it stay readable (README, Rotating the team key)", e.Fingerprint, e.Reason)
}

func (e *UnusableError) Unwrap() error { return ErrUnusable }

// Usable returns an *UnusableError when the key cannot be the current team
// key at now: revoked, expired, or without a valid encryption subkey.
func (k *Key) Usable(now time.Time) error {
	e := k.entity
	unusable := func(reason string) error { return &UnusableError{Fingerprint: k.Fingerprint(), Reason: reason} }
	if e.Revoked(now) {
		return unusable("is revoked")
	}
	if exp, ok := k.Expires(); ok && !now.Before(exp) {
		return unusable("expired on " + exp.UTC().Format(time.DateOnly))
	}
	if _, ok := e.EncryptionKey(now); !ok {
		return unusable("has no encryption subkey valid now (expired, revoked or missing)")
	}
	return nil
}

// LoadRetired reads a retired team key, locked like one from Load (a
// wrong passphrase shows at the first unlock). Unlike Load it takes a
// revoked or expired key: decryption uses the secret key material, whose
// self-signatures say only whether others should still encrypt to it.
func LoadRetired(armored []byte, passphrase []byte) (*Key, error) {
	return load(armored, passphrase)
}

// WithRetired returns the current key k with retired keys that decrypt
// too. Encrypting, signing and publishing use only k.
func (k *Key) WithRetired(retired ...*Key) *Key {
	out := &Key{entity: k.entity, secrets: k.secrets, name: k.name}
	for _, r := range retired {
		if r.Fingerprint() != k.Fingerprint() {
			out.retired = append(out.retired, &Key{entity: r.entity, secrets: r.secrets, name: r.name})
		}
	}
	return out
}

// Retired are the retired keys, in the order configured.
func (k *Key) Retired() []*Key { return k.retired }

// DecryptionKeyring is the current key and then the retired ones: what a
// message or a stored copy encrypted to the team may be encrypted to.
func (k *Key) DecryptionKeyring() openpgp.EntityList {
	ring := openpgp.EntityList{k.entity}
	for _, r := range k.retired {
		ring = append(ring, r.entity)
	}
	return ring
}

// DecryptionFingerprints are the fingerprints of the current key and then
// of the retired keys.
func (k *Key) DecryptionFingerprints() []string {
	out := []string{k.Fingerprint()}
	for _, r := range k.retired {
		out = append(out, r.Fingerprint())
	}
	return out
}

// UsableUntil is when the key stops being usable as the current key: the
// earlier of the primary key's expiry and that of the encryption subkey
// in use at now. ok is false when neither expires.
func (k *Key) UsableUntil(now time.Time) (t time.Time, ok bool) {
	t, ok = k.Expires()
	if sub, found := k.entity.EncryptionKey(now); found && sub.SelfSignature != nil &&
		sub.SelfSignature.KeyLifetimeSecs != nil && *sub.SelfSignature.KeyLifetimeSecs != 0 {
		subExp := sub.PublicKey.CreationTime.Add(time.Duration(*sub.SelfSignature.KeyLifetimeSecs) * time.Second)
		if !ok || subExp.Before(t) {
			t, ok = subExp, true
		}
	}
	return t, ok
}
