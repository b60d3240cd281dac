package gpgtest_test

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// pgpMIMEPayload checks the RFC 3156 structure of a multipart/encrypted
// mail and returns the armored payload.
func pgpMIMEPayload(t *testing.T, raw []byte) []byte {
	t.Helper()
	e := readMail(t, raw)
	mt, params := mediaType(t, e)
	if mt != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("top level is %s %v", mt, params)
	}
	ps := parts(t, e)
	if len(ps) != 2 {
		t.Fatalf("multipart/encrypted has %d parts, want 2", len(ps))
	}
	if mt, _ := mediaType(t, ps[0]); mt != "application/pgp-encrypted" || strings.TrimSpace(string(body(t, ps[0]))) != "Version: 1" {
		t.Errorf("first part: %s", mt)
	}
	if mt, _ := mediaType(t, ps[1]); mt != "application/octet-stream" {
		t.Errorf("second part: %s", mt)
	}
	return body(t, ps[1])
}

// decryptBoth decrypts with gpg and with go-crypto, checks they agree and
// returns the plaintext and go-crypto's details.
func decryptBoth(t *testing.T, f *fixture, msg []byte) ([]byte, *openpgp.MessageDetails) {
	t.Helper()
	plain, _ := f.g.Decrypt(t, msg)
	md, got, err := goDecrypt(t, msg, f.team, nil, f.reporter)
	if err != nil {
		t.Fatalf("go-crypto: %v", err)
	}
	// gpg writes text-mode literal data with local (LF) line endings,
	// go-crypto returns it as sent (CRLF); anything else must match.
	if lf(string(got)) != lf(string(plain)) {
		t.Fatalf("gpg and go-crypto disagree:\n%q\n%q", plain, got)
	}
	return plain, md
}

func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func TestMailBuilders(t *testing.T) {
	t.Parallel()
	f := setup(t)
	to := []*gpgtest.Key{f.team}
	base := gpgtest.Mail{Subject: "RCE in upload handler", Body: "Uploading a .phtml file runs it.\n"}

	// textOf checks an inner single-part entity and returns its decoded text.
	textOf := func(t *testing.T, inner []byte, wantType string) string {
		t.Helper()
		e := readMail(t, inner)
		if mt, _ := mediaType(t, e); mt != wantType {
			t.Fatalf("inner type %s, want %s", mt, wantType)
		}
		return lf(string(body(t, e)))
	}

	t.Run("pgp/mime", func(t *testing.T) {
		raw := f.g.PGPMIME(t, base, to, gpgtest.MIMEOptions{})
		checkCRLF(t, raw)
		if got := readMail(t, raw).Header.Get("Subject"); got != base.Subject {
			t.Errorf("outer Subject %q", got)
		}
		inner, md := decryptBoth(t, f, pgpMIMEPayload(t, raw))
		if md.IsSigned {
			t.Error("unsigned mail decrypts as signed")
		}
		if got := textOf(t, inner, "text/plain"); got != base.Body {
			t.Errorf("body %q", got)
		}
	})

	t.Run("protected headers, signed and encrypted", func(t *testing.T) {
		raw := f.g.PGPMIME(t, base, to, gpgtest.MIMEOptions{SignWith: f.reporter, ProtectedHeaders: true})
		checkCRLF(t, raw)
		if got := readMail(t, raw).Header.Get("Subject"); got != "..." {
			t.Errorf("outer Subject %q, want ...", got)
		}
		inner, md := decryptBoth(t, f, pgpMIMEPayload(t, raw))
		if !md.IsSigned || md.SignedBy == nil || md.SignatureError != nil {
			t.Errorf("combined signature: signed=%v by=%v err=%v", md.IsSigned, md.SignedBy, md.SignatureError)
		}
		e := readMail(t, inner)
		mt, params := mediaType(t, e)
		if mt != "multipart/mixed" || params["protected-headers"] != "v1" || e.Header.Get("Subject") != base.Subject {
			t.Fatalf("inner %s %v Subject=%q", mt, params, e.Header.Get("Subject"))
		}
		if got := lf(string(body(t, parts(t, e)[0]))); got != base.Body {
			t.Errorf("body %q", got)
		}
	})

	t.Run("signed then encrypted (multipart/signed inside)", func(t *testing.T) {
		raw := f.g.PGPMIME(t, base, to, gpgtest.MIMEOptions{SignWith: f.reporter, SignedInner: true, ProtectedHeaders: true})
		checkCRLF(t, raw)
		inner, md := decryptBoth(t, f, pgpMIMEPayload(t, raw))
		if md.IsSigned {
			t.Error("the OpenPGP message itself should not be signed")
		}
		if mt, params := mediaType(t, readMail(t, inner)); mt != "multipart/signed" ||
			params["protocol"] != "application/pgp-signature" || params["micalg"] != "pgp-sha256" {
			t.Fatalf("inner %s %v", mt, params)
		}
		verifySigned(t, f, inner)
	})

	charsets := []struct{ charset, text, wire string }{
		{"ISO-8859-1", "Grüße aus Köln: die Lücke ist in café.php\n", "Gr=FC=DFe"},
		{"windows-1252", "Bounty: € 500 – “critical”\n", "=80 500 =96 =93critical=94"},
		{"ISO-2022-JP", "ログイン画面に脆弱性があります。\n", "\x1b$B"},
	}
	for _, c := range charsets {
		t.Run("inner charset "+c.charset, func(t *testing.T) {
			m := base
			m.Body, m.Charset = c.text, c.charset
			raw := f.g.PGPMIME(t, m, to, gpgtest.MIMEOptions{})
			inner, _ := decryptBoth(t, f, pgpMIMEPayload(t, raw))
			e := readMail(t, inner)
			if _, params := mediaType(t, e); !strings.EqualFold(params["charset"], c.charset) {
				t.Errorf("charset %q", params["charset"])
			}
			if !bytes.Contains(inner, []byte(c.wire)) {
				t.Errorf("body not in %s on the wire (want %q):\n%s", c.charset, c.wire, inner)
			}
			if got := lf(string(body(t, e))); got != c.text { // go-message/charset decodes
				t.Errorf("decoded body %q", got)
			}
		})
	}

	t.Run("html only", func(t *testing.T) {
		m := base
		m.HTML, m.Body = true, "<html><body><p>XSS: <code>&lt;script&gt;</code></p></body></html>\n"
		inner, _ := decryptBoth(t, f, pgpMIMEPayload(t, f.g.PGPMIME(t, m, to, gpgtest.MIMEOptions{})))
		if got := textOf(t, inner, "text/html"); got != m.Body {
			t.Errorf("body %q", got)
		}
	})

	t.Run("inline with text around", func(t *testing.T) {
		m := base
		m.Charset = "ISO-8859-1"
		m.Body = "Schöne Grüße\n"
		raw := f.g.InlineMail(t, m, to, gpgtest.InlineOptions{Before: "Hallo Team,\n", After: "\n-- \nRita (sent from my phone)\n"})
		checkCRLF(t, raw)
		text := textOf(t, raw, "text/plain")
		if !strings.HasPrefix(text, "Hallo Team,\n-----BEGIN PGP MESSAGE-----") || !strings.HasSuffix(text, "(sent from my phone)\n") {
			t.Errorf("inline layout:\n%s", text)
		}
		plain, _ := decryptBoth(t, f, armoredIn(t, []byte(text), "PGP MESSAGE"))
		if lf(string(plain)) != "Sch\xf6ne Gr\xfc\xdfe\n" { // Latin-1 bytes, as declared
			t.Errorf("plaintext %q", plain)
		}
	})

	for _, name := range []string{"report.txt.asc", "report.txt.pgp", "report.txt.gpg"} {
		t.Run("attachment "+name, func(t *testing.T) {
			content := []byte("PoC: curl -F f=@shell.phtml https://example.org/upload\n")
			raw := f.g.AttachmentMail(t, base, to, gpgtest.AttachmentOptions{Filename: name, Content: content})
			checkCRLF(t, raw)
			ps := parts(t, readMail(t, raw))
			if len(ps) != 2 || lf(string(body(t, ps[0]))) != base.Body {
				t.Fatalf("%d parts", len(ps))
			}
			if _, params, _ := ps[1].Header.ContentDisposition(); params["filename"] != name {
				t.Errorf("filename %q", params["filename"])
			}
			data := body(t, ps[1])
			if armored := bytes.HasPrefix(data, []byte("-----BEGIN PGP MESSAGE")); armored != strings.HasSuffix(name, ".asc") {
				t.Errorf("%s: armored=%v", name, armored)
			}
			if plain, _ := decryptBoth(t, f, data); !bytes.Equal(plain, content) {
				t.Errorf("plaintext %q", plain)
			}
		})
	}

	t.Run("plain", func(t *testing.T) {
		raw := gpgtest.PlainMail(t, base)
		checkCRLF(t, raw)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"From", "To", "Date", "Message-Id", "Subject"} {
			if msg.Header.Get(h) == "" {
				t.Errorf("no %s header", h)
			}
		}
		if got := textOf(t, raw, "text/plain"); got != base.Body {
			t.Errorf("body %q", got)
		}
	})

	t.Run("signed only", func(t *testing.T) {
		raw := f.g.SignedMail(t, base, f.reporter)
		checkCRLF(t, raw)
		verifySigned(t, f, raw)
	})
}

// verifySigned checks an RFC 3156 multipart/signed entity with gpg and
// go-crypto over the first part's exact bytes.
func verifySigned(t *testing.T, f *fixture, raw []byte) {
	t.Helper()
	ps := rawSplit(t, raw)
	if len(ps) != 2 {
		t.Fatalf("multipart/signed has %d parts", len(ps))
	}
	sigPart := readMail(t, ps[1])
	if mt, _ := mediaType(t, sigPart); mt != "application/pgp-signature" {
		t.Fatalf("signature part is %s", mt)
	}
	sig := body(t, sigPart)
	if r := f.g.VerifyDetached(t, ps[0], sig); r.Err != nil || !r.Has("GOODSIG") {
		t.Fatalf("gpg: %v %q", r.Err, r.Status)
	}
	ring, _ := openpgp.ReadArmoredKeyRing(bytes.NewReader(f.reporter.PublicKey))
	if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(ps[0]), bytes.NewReader(sig), nil); err != nil {
		t.Fatalf("go-crypto: %v", err)
	}
}
