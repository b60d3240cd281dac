package gpgtest_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

var report = []byte("Hello team,\n\nSQL injection in /search?q=' OR 1=1 -- (found 2026-11-20).\n\nThanks, Rita\n")

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	hex40, hex16 := regexp.MustCompile(`^[0-9A-F]{40}$`), regexp.MustCompile(`^[0-9A-F]{16}$`)
	for _, k := range []*gpgtest.Key{f.team, f.reporter} {
		if !hex40.MatchString(k.Fingerprint) || !hex16.MatchString(k.KeyID) || !strings.HasSuffix(k.Fingerprint, k.KeyID) {
			t.Errorf("%s: fingerprint %q / key ID %q", k.UserID, k.Fingerprint, k.KeyID)
		}
		if len(k.SubkeyIDs) != 1 || !hex16.MatchString(k.SubkeyIDs[0]) {
			t.Errorf("%s: encryption subkeys %q", k.UserID, k.SubkeyIDs)
		}
		if !bytes.Contains(k.PublicKey, []byte("BEGIN PGP PUBLIC KEY BLOCK")) ||
			!bytes.Contains(k.SecretKey, []byte("BEGIN PGP PRIVATE KEY BLOCK")) {
			t.Errorf("%s: exports are not armored keys", k.UserID)
		}
		ents, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(k.SecretKey))
		if err != nil || len(ents) != 1 || ents[0].PrivateKey == nil {
			t.Fatalf("%s: go-crypto reads the secret key: %v", k.UserID, err)
		}
		// The export keeps the passphrase protection, as a bot's key file would.
		if got, want := ents[0].PrivateKey.Encrypted, k.Passphrase != ""; got != want {
			t.Errorf("%s: secret key encrypted=%v, want %v", k.UserID, got, want)
		}
	}

	t.Run("expired", func(t *testing.T) {
		old := f.g.GenerateKey(t, "Old Key", "old@example.org", gpgtest.KeyOptions{
			Created: time.Now().Add(-48 * time.Hour), Expiry: 24 * time.Hour})
		ents, _ := openpgp.ReadArmoredKeyRing(bytes.NewReader(old.PublicKey))
		if _, ok := ents[0].EncryptionKey(time.Now()); ok {
			t.Error("go-crypto finds a usable encryption key in an expired key")
		}
		if r := f.g.Run(report, "--armor", "--encrypt", "--recipient", old.Fingerprint); r.Err == nil {
			t.Error("gpg encrypted to an expired key")
		}
	})
}

// RSA keys take 0.3-6 s to make; this runs beside the other tests.
func TestRSAKey(t *testing.T) {
	t.Parallel()
	g := gpgtest.New(t)
	start := time.Now()
	team := g.GenerateKey(t, "RSA Team", "rsa@example.org", gpgtest.KeyOptions{Algorithm: "rsa3072", Passphrase: "pw"})
	t.Logf("rsa3072 key generated in %v", time.Since(start).Round(time.Millisecond))
	msg := g.Encrypt(t, report, []*gpgtest.Key{team}, gpgtest.EncryptOptions{})
	if got, _ := g.Decrypt(t, msg); !bytes.Equal(got, report) {
		t.Fatalf("gpg round trip: %q", got)
	}
	if _, got, err := goDecrypt(t, msg, team, nil); err != nil || !bytes.Equal(got, report) {
		t.Fatalf("go-crypto: %v %q", err, got)
	}
}

func TestEncryptOptions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cases := map[string]gpgtest.EncryptOptions{
		"default":        {},
		"signed":         {SignWith: f.reporter},
		"no compression": {Compress: "none"},
		"zlib level 9":   {Compress: "zlib", CompressLevel: 9},
		"bzip2":          {Compress: "bzip2"},
		"throw keyids":   {ThrowKeyIDs: true},
		"text mode":      {TextMode: true},
		"binary":         {Binary: true, Filename: "report.txt"},
		"aes128":         {Cipher: "AES128"},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			msg := f.g.Encrypt(t, report, []*gpgtest.Key{f.team}, opts)
			if armored := bytes.HasPrefix(msg, []byte("-----BEGIN PGP MESSAGE-----")); armored == opts.Binary {
				t.Errorf("armored=%v with Binary=%v", armored, opts.Binary)
			}
			r := f.g.TryDecrypt(msg)
			if r.Err != nil || !bytes.Equal(r.Output, report) {
				t.Fatalf("gpg: %v, %q", r.Err, r.Output)
			}
			if opts.SignWith != nil && !r.Has("GOODSIG") {
				t.Errorf("gpg status has no GOODSIG: %q", r.Status)
			}
			md, got, err := goDecrypt(t, msg, f.team, nil, f.reporter)
			if err != nil || !bytes.Equal(bytes.ReplaceAll(got, []byte("\r\n"), []byte("\n")), report) {
				t.Fatalf("go-crypto: %v, %q", err, got)
			}
			if md.IsSigned != (opts.SignWith != nil) || (md.IsSigned && md.SignedBy == nil) {
				t.Errorf("go-crypto: IsSigned=%v SignedBy=%v", md.IsSigned, md.SignedBy)
			}
			if opts.ThrowKeyIDs && md.EncryptedToKeyIds[0] != 0 {
				t.Errorf("--throw-keyids left key ID %X", md.EncryptedToKeyIds[0])
			}
		})
	}
}

func TestSignatures(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ring, _ := openpgp.ReadArmoredKeyRing(bytes.NewReader(f.reporter.PublicKey))

	t.Run("sign", func(t *testing.T) {
		signed := f.g.Sign(t, report, f.reporter, gpgtest.SignOptions{})
		r := f.g.TryDecrypt(signed) // gpg --decrypt also unwraps signed-only messages
		if r.Err != nil || !r.Has("GOODSIG") || !bytes.Equal(r.Output, report) {
			t.Fatalf("gpg: %v %q", r.Err, r.Status)
		}
	})
	t.Run("clearsign", func(t *testing.T) {
		signed := f.g.ClearSign(t, report, f.reporter, gpgtest.SignOptions{})
		block, _ := clearsign.Decode(signed)
		if block == nil {
			t.Fatalf("no clearsigned block in %q", signed)
		}
		if _, err := block.VerifySignature(ring, nil); err != nil {
			t.Fatalf("go-crypto: %v", err)
		}
	})
	t.Run("detached", func(t *testing.T) {
		sig := f.g.DetachSign(t, report, f.reporter, gpgtest.SignOptions{TextMode: true})
		if r := f.g.VerifyDetached(t, report, sig); r.Err != nil || !r.Has("GOODSIG") {
			t.Fatalf("gpg: %v", r.Err)
		}
		if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(report), bytes.NewReader(sig), nil); err != nil {
			t.Fatalf("go-crypto: %v", err)
		}
		if r := f.g.VerifyDetached(t, append([]byte("x"), report...), sig); r.Err == nil || !r.Has("BADSIG") {
			t.Fatalf("changed data verified: %q", r.Status)
		}
	})
}

// A second home (the bot's side) imports the team key exported by the
// first, passphrase and all, and decrypts what the first encrypted.
func TestImport(t *testing.T) {
	t.Parallel()
	f := setup(t)
	msg := f.g.Encrypt(t, report, []*gpgtest.Key{f.team}, gpgtest.EncryptOptions{SignWith: f.reporter})
	bot := gpgtest.New(t)
	bot.Import(t, f.team)
	bot.Import(t, &gpgtest.Key{PublicKey: f.reporter.PublicKey})
	r := bot.TryDecrypt(msg)
	if r.Err != nil || !bytes.Equal(r.Output, report) || !r.Has("GOODSIG") {
		t.Fatalf("imported key: %v %q", r.Err, r.Status)
	}
}
