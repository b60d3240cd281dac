package teamkey_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/teamkey"
)

// TestRetiredKeysDecryptWhateverTheirState: a key that is revoked or
// expired cannot be the current key (Load says why and how to rotate), yet
// as a retired key it decrypts what was encrypted to it, next to a current
// key that decrypts and encrypts. Real GnuPG keys.
func TestRetiredKeysDecryptWhateverTheirState(t *testing.T) {
	g := gpgtest.New(t)
	revoked := g.GenerateKey(t, "Old Team", "security@example.org", gpgtest.KeyOptions{Passphrase: "old"})
	expired := g.GenerateKey(t, "Older Team", "security@example.org", gpgtest.KeyOptions{
		Created: time.Now().Add(-48 * time.Hour), Expiry: 24 * time.Hour})
	current := g.GenerateKey(t, "Team", "security@example.org", gpgtest.KeyOptions{Expiry: 20 * 24 * time.Hour})
	// Encrypted while the old keys were good; gpg refuses to encrypt to
	// them afterwards, as reporters' programs do.
	toRevoked := g.Encrypt(t, []byte("to the revoked key"), []*gpgtest.Key{revoked}, gpgtest.EncryptOptions{})
	g.Revoke(t, revoked)
	enc := g.Run([]byte("to the expired key"), "--faked-system-time", time.Now().Add(-47*time.Hour).UTC().Format("20060102T150405"),
		"--armor", "--encrypt", "--recipient", expired.Fingerprint)
	if enc.Err != nil {
		t.Fatal(enc.Err)
	}
	toExpired := enc.Output

	for name, tc := range map[string]struct {
		k      *gpgtest.Key
		reason string
	}{"revoked": {revoked, "is revoked"}, "expired": {expired, "expired on"}} {
		_, err := teamkey.Load(tc.k.SecretKey, []byte(tc.k.Passphrase))
		var u *teamkey.UnusableError
		if !errors.As(err, &u) || !errors.Is(err, teamkey.ErrUnusable) || !strings.Contains(u.Reason, tc.reason) ||
			!strings.Contains(err.Error(), tc.k.Fingerprint) || !strings.Contains(err.Error(), "[[keys.retired]]") {
			t.Errorf("%s key as the current key: err = %v, want an UnusableError %q naming it and the fix", name, err, tc.reason)
		}
	}
	cur, err := teamkey.Load(current.SecretKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	var retired []*teamkey.Key
	for _, k := range []*gpgtest.Key{revoked, expired} {
		r, err := teamkey.LoadRetired(k.SecretKey, []byte(k.Passphrase))
		if err != nil {
			t.Fatalf("retired %s: %v", k.Name, err)
		}
		if r.Usable(time.Now()) == nil {
			t.Errorf("%s: Usable says a revoked or expired key is usable", k.Name)
		}
		retired = append(retired, r)
	}
	// Loading is lazy: a wrong passphrase shows at the first unlock, that
	// of the ring holding the retired key included, naming the key.
	wrong, err := teamkey.LoadRetired(revoked.SecretKey, []byte("wrong"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Unlock(); err == nil {
		t.Error("a retired key unlocked with the wrong passphrase")
	}
	if err := cur.WithRetired(wrong).Unlock(); err == nil || !strings.Contains(err.Error(), "retired") || !strings.Contains(err.Error(), revoked.Fingerprint) {
		t.Errorf("Unlock of a ring with a wrongly locked retired key: %v", err)
	}
	if _, err := cur.WithRetired(wrong).DecryptSimple(toRevoked, 1<<10); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("DecryptSimple with a wrongly locked retired key: %v", err)
	}
	ring := cur.WithRetired(retired...)
	for want, ct := range map[string][]byte{"to the revoked key": toRevoked, "to the expired key": toExpired} {
		if _, err := cur.DecryptSimple(ct, 1<<10); err == nil {
			t.Errorf("the current key alone decrypted %q", want)
		}
		pt, err := ring.DecryptSimple(ct, 1<<10)
		if err != nil || string(pt) != want {
			t.Errorf("with the retired keys: %q, %v; want %q", pt, err, want)
		}
	}
	// New data goes to the current key only, which gpg decrypts.
	ct, err := ring.Encrypt([]byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if res := g.TryDecrypt(ct); res.Err != nil || !res.Has("DECRYPTION_OKAY") || !strings.Contains(strings.Join(res.Status, "\n"), current.SubkeyIDs[0]) {
		t.Errorf("gpg on what the ring encrypts: %v %v", res.Err, res.Status)
	}
	if got := ring.DecryptionFingerprints(); len(got) != 3 || got[0] != current.Fingerprint || got[1] != revoked.Fingerprint || got[2] != expired.Fingerprint {
		t.Errorf("DecryptionFingerprints = %v", got)
	}
	pub, err := ring.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	if list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub)); err != nil || len(list) != 1 ||
		fmt.Sprintf("%X", list[0].PrimaryKey.Fingerprint) != current.Fingerprint {
		t.Errorf("the published key is not the current key alone: %d keys, %v", len(list), err)
	}
	// 20 days left: inside the 30 days `check` warns.
	until, ok := ring.UsableUntil(time.Now())
	if !ok || until.Sub(time.Now()) > 20*24*time.Hour || until.Sub(time.Now()) < 19*24*time.Hour {
		t.Errorf("UsableUntil = %v, %v; want in 20 days", until, ok)
	}
}
