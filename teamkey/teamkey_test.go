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
