package teamkey_test

import (
	"testing"

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/teamkey"
)

// BenchmarkUnlock measures what one short-lived process (sectriage ingest
// or cmd without a daemon) pays for the team key, with a key GnuPG made
// and protected with an S2K count of 65,011,712:
//   - all-keys: load, unlock primary key and subkey (as every process did
//     before keys were unlocked on use), decrypt one message;
//   - named-subkey: load, decrypt one message, which unlocks only the
//     subkey its encrypted session key names;
//   - no-decrypt: load, as a command that reads no report.
//
// Each operation loads the key afresh, as a new process would.
func BenchmarkUnlock(b *testing.B) {
	g := gpgtest.NewRealistic(b)
	team := g.GenerateKey(b, "Security Team", "security@example.org", gpgtest.KeyOptions{Passphrase: "correct horse"})
	msg := g.Encrypt(b, []byte("a report"), []*gpgtest.Key{team}, gpgtest.EncryptOptions{})
	pass := []byte(team.Passphrase)
	load := func(b *testing.B) *teamkey.Key {
		k, err := teamkey.Load(team.SecretKey, pass)
		if err != nil {
			b.Fatal(err)
		}
		return k
	}
	decrypt := func(b *testing.B, k *teamkey.Key) {
		if pt, err := k.DecryptSimple(msg, 1<<20); err != nil || string(pt) != "a report" {
			b.Fatalf("decrypt = %q, %v", pt, err)
		}
	}
	b.Run("all-keys", func(b *testing.B) {
		for b.Loop() {
			k := load(b)
			if err := k.Unlock(); err != nil {
				b.Fatal(err)
			}
			decrypt(b, k)
		}
	})
	b.Run("named-subkey", func(b *testing.B) {
		for b.Loop() {
			decrypt(b, load(b))
		}
	})
	b.Run("no-decrypt", func(b *testing.B) {
		for b.Loop() {
			load(b)
		}
	})
}
