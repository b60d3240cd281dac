package gpgtest_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

func TestBadInputs(t *testing.T) {
	t.Parallel()
	f := setup(t)
	to := []*gpgtest.Key{f.team}

	t.Run("wrong recipient", func(t *testing.T) {
		msg := f.g.WrongRecipient(t, report)
		if r := f.g.TryDecrypt(msg); r.Err == nil || !r.Has("NO_SECKEY") {
			t.Errorf("gpg: err=%v status=%q", r.Err, r.Status)
		}
		_, _, err := goDecrypt(t, msg, f.team, nil)
		if !errors.Is(err, pgperrors.ErrKeyIncorrect) {
			t.Errorf("go-crypto: %v, want ErrKeyIncorrect", err)
		}
	})

	t.Run("bit flip fails integrity", func(t *testing.T) {
		msg := f.g.Tampered(t, report, to)
		if !bytes.HasPrefix(msg, []byte("-----BEGIN PGP MESSAGE-----")) {
			t.Fatalf("not armored: %q", msg)
		}
		r := f.g.TryDecrypt(msg)
		if r.Err == nil || !r.Has("DECRYPTION_FAILED") || !strings.Contains(r.Stderr, "manipulated") {
			t.Errorf("gpg: err=%v status=%q stderr=%s", r.Err, r.Status, r.Stderr)
		}
		// The session key still decrypts: only the MDC check at EOF fails.
		md, _, err := goDecrypt(t, msg, f.team, nil)
		if md == nil || !errors.Is(err, pgperrors.ErrMDCHashMismatch) {
			t.Errorf("go-crypto: %v, want ErrMDCHashMismatch while reading", err)
		}
	})

	t.Run("no MDC (SED packet)", func(t *testing.T) {
		msg := f.g.NoMDC(t, report, to)
		r := f.g.TryDecrypt(msg)
		if r.Err == nil || !r.Has("DECRYPTION_FAILED") || !strings.Contains(r.Stderr, "not integrity protected") {
			t.Errorf("gpg: err=%v status=%q stderr=%s", r.Err, r.Status, r.Stderr)
		}
		if r := f.g.TryDecrypt(msg, "--ignore-mdc-error"); r.Err != nil || !bytes.Equal(r.Output, report) {
			t.Errorf("gpg --ignore-mdc-error: %v %q", r.Err, r.Output)
		}
		if _, _, err := goDecrypt(t, msg, f.team, nil); err == nil {
			t.Error("go-crypto decrypted a message without integrity protection")
		} else {
			t.Logf("go-crypto: %v", err)
		}
		// Proof that it is a well-formed SED message and not just garbage.
		_, got, err := goDecrypt(t, msg, f.team, &packet.Config{InsecureAllowUnauthenticatedMessages: true})
		if err != nil || !bytes.Equal(got, report) {
			t.Errorf("go-crypto, unauthenticated allowed: %v %q", err, got)
		}
	})

	t.Run("truncated armor", func(t *testing.T) {
		msg := gpgtest.TruncateArmor(f.g.Encrypt(t, bytes.Repeat(report, 20), to, gpgtest.EncryptOptions{Compress: "none"}))
		if bytes.Contains(msg, []byte("-----END")) {
			t.Fatal("END line survived")
		}
		if r := f.g.TryDecrypt(msg); r.Err == nil {
			t.Error("gpg decrypted truncated armor")
		}
		if _, _, err := goDecrypt(t, msg, f.team, nil); err == nil {
			t.Error("go-crypto decrypted truncated armor")
		}
	})

	t.Run("garbage armor", func(t *testing.T) {
		msg := gpgtest.GarbageArmor()
		if r := f.g.TryDecrypt(msg); r.Err == nil {
			t.Error("gpg decrypted garbage")
		}
		_, _, err := goDecrypt(t, msg, f.team, nil)
		var se pgperrors.StructuralError
		if !errors.As(err, &se) {
			t.Errorf("go-crypto: %v, want a StructuralError (armor fine, packets not)", err)
		}
	})

	t.Run("oversized", func(t *testing.T) {
		const size = 4 << 20
		raw := f.g.OversizedMail(t, gpgtest.Mail{}, to, size)
		if len(raw) < size || len(raw) > size*3/2 {
			t.Errorf("oversized mail is %d bytes, want about %d", len(raw), size)
		}
		ps := parts(t, readMail(t, raw))
		if plain, _ := f.g.Decrypt(t, body(t, ps[1])); len(plain) != size*3/4 {
			t.Errorf("payload %d bytes", len(plain))
		}
	})

	t.Run("broken boundary", func(t *testing.T) {
		raw := gpgtest.BrokenBoundaryMail(gpgtest.Mail{}, f.g.Encrypt(t, report, to, gpgtest.EncryptOptions{}))
		checkCRLF(t, raw)
		mr := readMail(t, raw).MultipartReader()
		if p, err := mr.NextPart(); err == nil {
			t.Errorf("found a part (%s) despite the wrong boundary", p.Header.Get("Content-Type"))
		}
	})

	t.Run("deep nesting", func(t *testing.T) {
		const depth = 100
		e := readMail(t, gpgtest.DeepNestingMail(gpgtest.Mail{}, depth))
		levels := 0
		for e.MultipartReader() != nil {
			p, err := e.MultipartReader().NextPart()
			if err != nil {
				t.Fatalf("level %d: %v", levels, err)
			}
			e, levels = p, levels+1
		}
		if levels != depth || strings.TrimSpace(string(body(t, e))) != "bottom" {
			t.Errorf("%d levels", levels)
		}
	})
}

func TestCompressionBomb(t *testing.T) {
	t.Parallel()
	f := setup(t)
	to := []*gpgtest.Key{f.team}

	// A small one proves the crafted stream exactly: gpg decompresses it
	// and both readers get size zero bytes.
	const small = 16<<20 + 12345
	msg := f.g.CompressionBomb(t, to, small)
	plain, _ := f.g.Decrypt(t, msg)
	if len(plain) != small || bytes.ContainsFunc(plain, func(r rune) bool { return r != 0 }) {
		t.Fatalf("gpg: %d bytes, want %d zeros", len(plain), small)
	}
	if _, got, err := goDecrypt(t, msg, f.team, nil); err != nil || len(got) != small {
		t.Fatalf("go-crypto: %v, %d bytes", err, len(got))
	}

	start := time.Now()
	bomb := f.g.CompressionBomb(t, to, 1<<30)
	t.Logf("1 GiB bomb: %d armored bytes, built in %v", len(bomb), time.Since(start).Round(time.Millisecond))
	if len(bomb) > 2<<20 {
		t.Errorf("bomb is %d bytes, want under 2 MiB", len(bomb))
	}
	// A reader with a limit stops early...
	limit := int64(10 << 20)
	md, _, err := goDecrypt(t, bomb, f.team, &packet.Config{MaxDecompressedMessageSize: &limit})
	if md == nil || err == nil {
		t.Errorf("go-crypto with a 10 MiB limit: md=%v err=%v", md != nil, err)
	}
	// ...and one without gets all of it (counted, not kept).
	start = time.Now()
	md, err = readMessage(t, bomb, f.team)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, md.UnverifiedBody)
	if err != nil || n != 1<<30 {
		t.Fatalf("decompressed %d bytes (%v), want 1 GiB", n, err)
	}
	t.Logf("go-crypto inflated 1 GiB in %v", time.Since(start).Round(time.Millisecond))
}

// readMessage opens msg with go-crypto without reading the body.
func readMessage(t *testing.T, armored []byte, team *gpgtest.Key) (*openpgp.MessageDetails, error) {
	t.Helper()
	ring, _ := openpgp.ReadArmoredKeyRing(bytes.NewReader(team.SecretKey))
	for _, e := range ring {
		_ = e.DecryptPrivateKeys([]byte(team.Passphrase))
	}
	block, err := armorDecode(armored)
	if err != nil {
		return nil, err
	}
	return openpgp.ReadMessage(block, ring, nil, nil)
}

// TestBombKinds proves the other framings exactly, small: gpg and
// go-crypto read the chunked literal data and the data after the padding.
func TestBombKinds(t *testing.T) {
	t.Parallel()
	f := setup(t)
	to := []*gpgtest.Key{f.team}
	const size = 4 << 20
	for _, tc := range []struct {
		kind gpgtest.BombKind
		want []byte
	}{
		{gpgtest.BombChunked, make([]byte, size-6)},
		{gpgtest.BombPadding, []byte("after the padding\n")},
	} {
		msg := f.g.Bomb(t, to, size, tc.kind)
		if len(msg) > size/300 { // deflate copies at most 258 bytes per code
			t.Errorf("kind %d: %d bytes for %d", tc.kind, len(msg), size)
		}
		if plain, stderr := f.g.Decrypt(t, msg); !bytes.Equal(plain, tc.want) {
			t.Errorf("kind %d: gpg got %d bytes, want %d (%s)", tc.kind, len(plain), len(tc.want), stderr)
		}
		if _, got, err := goDecrypt(t, msg, f.team, nil); err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("kind %d: go-crypto: %v, %d bytes", tc.kind, err, len(got))
		}
	}
}
