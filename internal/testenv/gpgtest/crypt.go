package gpgtest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// EncryptOptions shape the OpenPGP message Encrypt makes. The zero value is
// what gpg does by default: armored, MDC-protected (SEIPD v1), compressed
// with the algorithm the recipients prefer.
type EncryptOptions struct {
	// SignWith signs and encrypts in one OpenPGP message (gpg -se), the
	// combined method of RFC 3156 §6.2 that Thunderbird and Enigmail use.
	SignWith *Key
	// NoMDC makes a legacy Symmetrically Encrypted Data packet (tag 9) with
	// no integrity protection. gpg ignores --disable-mdc but still writes
	// one in --rfc2440 mode, even for Curve25519 keys, so it is real gpg
	// output (gpg warns "encrypting without integrity protection").
	NoMDC bool
	// Compress is "none", "zip", "zlib" or "bzip2"; "" leaves it to gpg.
	Compress string
	// CompressLevel is 1-9; 0 leaves it to gpg.
	CompressLevel int
	// ThrowKeyIDs hides the recipients: PKESK packets carry key ID 0.
	ThrowKeyIDs bool
	// TextMode marks the literal data as text ('t'), as inline-PGP clients do.
	TextMode bool
	// Binary returns raw packets instead of ASCII armor (.pgp/.gpg files).
	Binary bool
	// Filename is stored in the literal packet (--set-filename).
	Filename string
	// Cipher is gpg's --cipher-algo, e.g. "AES256"; "" follows preferences.
	Cipher string
}

// Encrypt encrypts plaintext to recipients with gpg.
func (g *GPG) Encrypt(t testing.TB, plaintext []byte, recipients []*Key, opts EncryptOptions) []byte {
	t.Helper()
	if len(recipients) == 0 {
		t.Fatal("gpgtest: Encrypt without recipients")
	}
	args := []string{"--encrypt"}
	for _, k := range recipients {
		args = append(args, "--recipient", k.Fingerprint)
	}
	if !opts.Binary {
		args = append(args, "--armor")
	}
	if opts.SignWith != nil {
		args = append(args, "--sign", "--local-user", opts.SignWith.Fingerprint,
			"--passphrase", opts.SignWith.Passphrase, "--digest-algo", "SHA256")
	}
	if opts.NoMDC {
		args = append(args, "--rfc2440")
	}
	if opts.Compress != "" {
		args = append(args, "--compress-algo", opts.Compress)
	}
	if opts.CompressLevel > 0 {
		args = append(args, "--compress-level", strconv.Itoa(opts.CompressLevel))
	}
	if opts.ThrowKeyIDs {
		args = append(args, "--throw-keyids")
	}
	if opts.TextMode {
		args = append(args, "--textmode")
	}
	if opts.Filename != "" {
		args = append(args, "--set-filename", opts.Filename)
	}
	if opts.Cipher != "" {
		args = append(args, "--cipher-algo", opts.Cipher)
	}
	return g.must(t, plaintext, args...).Output
}

// SignOptions shape Sign, ClearSign and DetachSign.
type SignOptions struct {
	TextMode bool   // signature over canonical text (class 0x01), as PGP/MIME clients sign
	Binary   bool   // raw packets instead of ASCII armor
	Digest   string // --digest-algo; "" means SHA256 (so micalg="pgp-sha256" holds)
}

func (g *GPG) sign(t testing.TB, mode string, data []byte, key *Key, opts SignOptions) []byte {
	t.Helper()
	digest := opts.Digest
	if digest == "" {
		digest = "SHA256"
	}
	args := []string{mode, "--local-user", key.Fingerprint, "--passphrase", key.Passphrase,
		"--digest-algo", digest}
	if !opts.Binary && mode != "--clear-sign" {
		args = append(args, "--armor")
	}
	if opts.TextMode {
		args = append(args, "--textmode")
	}
	return g.must(t, data, args...).Output
}

// Sign makes an opaque signed message (gpg --sign): data inside, signature after.
func (g *GPG) Sign(t testing.TB, data []byte, key *Key, opts SignOptions) []byte {
	t.Helper()
	return g.sign(t, "--sign", data, key, opts)
}

// ClearSign makes a cleartext-signed message (-----BEGIN PGP SIGNED MESSAGE-----).
func (g *GPG) ClearSign(t testing.TB, text []byte, key *Key, opts SignOptions) []byte {
	t.Helper()
	return g.sign(t, "--clear-sign", text, key, opts)
}

// DetachSign makes a detached signature, as in multipart/signed.
func (g *GPG) DetachSign(t testing.TB, data []byte, key *Key, opts SignOptions) []byte {
	t.Helper()
	return g.sign(t, "--detach-sign", data, key, opts)
}

// VerifyDetached checks a detached signature over data with gpg.
func (g *GPG) VerifyDetached(t testing.TB, data, sig []byte) *Result {
	t.Helper()
	dir, err := os.MkdirTemp(g.Home, "verify-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sigFile := filepath.Join(dir, "sig")
	if err := os.WriteFile(sigFile, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	return g.Run(data, "--verify", sigFile, "-")
}

// Decrypt decrypts (and verifies, if signed) an armored or binary message
// with gpg and fails the test if gpg fails. stderr is gpg's human output.
func (g *GPG) Decrypt(t testing.TB, msg []byte) (plaintext []byte, stderr string) {
	t.Helper()
	r := g.TryDecrypt(msg)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	return r.Output, r.Stderr
}

// TryDecrypt is Decrypt for negative tests: it never fails the test and
// reports what gpg said. extra flags go to gpg, e.g. "--ignore-mdc-error".
func (g *GPG) TryDecrypt(msg []byte, extra ...string) *Result {
	args := append([]string{"--passphrase", g.passphraseFor(recipientIDs(msg))}, extra...)
	return g.Run(msg, append(args, "--decrypt")...)
}

// recipientIDs lists the key IDs named by a message's PKESK packets, to
// pick the passphrase for gpg's loopback pinentry.
func recipientIDs(msg []byte) []string {
	var r io.Reader = bytes.NewReader(msg)
	if bytes.HasPrefix(bytes.TrimSpace(msg), []byte("-----BEGIN")) {
		block, err := armor.Decode(bytes.NewReader(msg))
		if err != nil {
			return nil
		}
		r = block.Body
	}
	var ids []string
	pr := packet.NewReader(r)
	for {
		p, err := pr.Next()
		if err != nil {
			return ids
		}
		ek, ok := p.(*packet.EncryptedKey)
		if !ok {
			return ids
		}
		ids = append(ids, fmt.Sprintf("%016X", ek.KeyId))
	}
}
