package teamkey

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestGenerateExportLoadEncryptDecrypt(t *testing.T) {
	k, err := Generate("Demo Security Team", "security@demo.invalid", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	locked, err := k.ArmoredSecret([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(locked, nil); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("loading a locked key without passphrase: %v", err)
	}
	// Loading unlocks nothing; the wrong passphrase shows at the first
	// unlock.
	wrong, err := Load(locked, []byte("wrong"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Unlock(); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("unlocking with the wrong passphrase: %v", err)
	}
	loaded, err := Load(locked, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Fingerprint() != k.Fingerprint() {
		t.Fatalf("fingerprint changed: %s vs %s", loaded.Fingerprint(), k.Fingerprint())
	}
	pub, err := k.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(pub, nil); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("loading a public key: %v", err)
	}
	ct, err := k.Encrypt([]byte("canary sentence"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ct), "canary") {
		t.Fatal("ciphertext contains plaintext")
	}
	pt, err := loaded.DecryptSimple(ct, 1<<20)
	if err != nil || string(pt) != "canary sentence" {
		t.Fatalf("decrypt = %q, %v", pt, err)
	}
	if _, err := Load([]byte("garbage"), nil); err == nil {
		t.Fatal("garbage accepted")
	}
}

// TestUnlocksOnlyWhatIsUsed: loading unlocks nothing; decrypting a message
// unlocks the subkey it names and not the primary key; the dedupe secret
// needs that subkey alone; signing unlocks the primary key.
func TestUnlocksOnlyWhatIsUsed(t *testing.T) {
	g, err := Generate("Team", "security@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	locked, err := g.ArmoredSecret([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := Load(locked, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	primary, sub := k.entity.PrivateKey, k.entity.Subkeys[0].PrivateKey
	state := func() string {
		return fmt.Sprintf("primary locked %v, subkey locked %v", primary.Encrypted, sub.Encrypted)
	}
	if !primary.Encrypted || !sub.Encrypted {
		t.Fatalf("after Load: %s", state())
	}
	msg, err := k.Encrypt([]byte("report"))
	if err != nil {
		t.Fatal(err)
	}
	if !primary.Encrypted || !sub.Encrypted {
		t.Fatalf("encrypting to the team unlocked something: %s", state())
	}
	if _, err := k.DeriveSecret("x"); err != nil {
		t.Fatal(err)
	}
	if !primary.Encrypted || sub.Encrypted {
		t.Fatalf("after DeriveSecret: %s", state())
	}
	if pt, err := k.DecryptSimple(msg, 1<<20); err != nil || string(pt) != "report" {
		t.Fatalf("decrypt = %q, %v", pt, err)
	}
	if !primary.Encrypted {
		t.Fatalf("after decrypting: %s", state())
	}
	if _, err := k.SigningKey(time.Now()); err != nil {
		t.Fatal(err)
	}
	if primary.Encrypted {
		t.Fatalf("after SigningKey: %s", state())
	}

	// A message naming another key unlocks nothing.
	k2, err := Load(locked, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k2.UnlockFor([]uint64{0x1234}); err != nil {
		t.Fatal(err)
	}
	if !k2.entity.PrivateKey.Encrypted || !k2.entity.Subkeys[0].PrivateKey.Encrypted {
		t.Fatal("a foreign key ID unlocked the team key")
	}
	// A hidden recipient (key ID 0) may be any decryption key: those
	// are unlocked, the primary (signing) key is not.
	if err := k2.UnlockFor([]uint64{0}); err != nil {
		t.Fatal(err)
	}
	if !k2.entity.PrivateKey.Encrypted || k2.entity.Subkeys[0].PrivateKey.Encrypted {
		t.Fatal("a hidden recipient did not unlock just the decryption subkey")
	}
}

// TestRetiredKeysUnlockLazilyWithTheirOwnPassphrase: a ring of the current
// key and a retired one (each with its own passphrase) unlocks only what a
// message names, each key with its own passphrase; the derived secrets
// come from the current key alone, unlocked for the purpose; Unlock covers
// every key; and a secret is never derived from locked material.
func TestRetiredKeysUnlockLazilyWithTheirOwnPassphrase(t *testing.T) {
	load := func(name, pass string) *Key {
		t.Helper()
		g, err := Generate(name, "security@example.org", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		armored, err := g.ArmoredSecret([]byte(pass))
		if err != nil {
			t.Fatal(err)
		}
		k, err := LoadRetired(armored, []byte(pass))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	cur, old := load("Team", "new"), load("Old Team", "old")
	toOld, err := old.Encrypt([]byte("old report"))
	if err != nil {
		t.Fatal(err)
	}
	ring := cur.WithRetired(old)
	locked := func(k *Key) (primary, sub bool) {
		return k.entity.PrivateKey.Encrypted, k.entity.Subkeys[0].PrivateKey.Encrypted
	}
	if pt, err := ring.DecryptSimple(toOld, 1<<10); err != nil || string(pt) != "old report" {
		t.Fatalf("the ring on a message to the retired key: %q, %v", pt, err)
	}
	if p, s := locked(old); !p || s {
		t.Errorf("the retired key after decrypting with it: primary locked %v, subkey locked %v; want only the subkey unlocked", p, s)
	}
	if p, s := locked(cur); !p || !s {
		t.Errorf("a message to the retired key unlocked the current key: primary locked %v, subkey locked %v", p, s)
	}
	fromRing, err := ring.DeriveSecret("x")
	if err != nil {
		t.Fatal(err)
	}
	if p, s := locked(cur); !p || s {
		t.Errorf("DeriveSecret on the ring: current primary locked %v, subkey locked %v; want only the subkey unlocked", p, s)
	}
	if fromCur, err := cur.DeriveSecret("x"); err != nil || string(fromCur) != string(fromRing) {
		t.Errorf("the ring derives another secret than the current key alone (%v)", err)
	}
	if err := ring.Unlock(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Key{cur, old} {
		if p, s := locked(k); p || s {
			t.Errorf("after Unlock, %s: primary locked %v, subkey locked %v", k.UserID(), p, s)
		}
	}

	wrong := load("Team", "right")
	wrong.secrets = &secrets{passphrase: []byte("wrong")}
	if s, err := wrong.DeriveSecret("x"); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("DeriveSecret with a wrong passphrase: %x, %v; want an error", s, err)
	}
	bare := &Key{entity: load("Team", "pw").entity} // no secrets: nothing unlocks it
	if s, err := bare.DeriveSecret("x"); err == nil {
		t.Errorf("DeriveSecret from a locked key without a passphrase: %x", s)
	}
}
