package email_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/teamkey"
)

// fuzzLimits keep each fuzz run fast while still letting every limit trip.
var fuzzLimits = email.Limits{
	MaxMessageBytes: 1 << 20, MaxDecryptedBytes: 2 << 20, MaxParts: 50, MaxDepth: 8,
	MaxAttachments: 8, MaxAttachmentBytes: 512 << 10, MaxHeaderBytes: 16 << 10, MaxRecipients: 8,
}

// fuzzTeam is a fixed, public test key (testdata/fuzz-team.asc), so that
// corpus entries found by fuzzing stay meaningful across runs.
func fuzzTeam(t testing.TB) *teamkey.Key {
	t.Helper()
	armored, err := os.ReadFile("testdata/fuzz-team.asc")
	if err != nil {
		t.Fatal(err)
	}
	k, err := teamkey.Load(armored, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzIntake feeds arbitrary bytes to the decoder. Every input must end as
// a report or a rejection with a reason; no parser may panic (the decoder
// recovers, which would hide it: a parser-crash rejection fails here);
// what comes out is bounded by the limits.
func FuzzIntake(f *testing.F) {
	team := fuzzTeam(f)
	for _, seed := range fuzzSeeds(f, team) {
		f.Add(seed)
	}
	dec, err := email.NewDecoder(team, nil, fuzzLimits, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		env := dec.Envelope(raw)
		if len(env.MessageID) > 250 {
			t.Fatalf("Message-ID of %d bytes", len(env.MessageID))
		}
		rep, err := dec.Decode(raw)
		if err != nil {
			rej, ok := bot.AsRejection(err)
			if !ok || rej.Reason == "" {
				t.Fatalf("error without a rejection reason: %v", err)
			}
			if rej.Reason == bot.RejectParserCrash {
				t.Fatalf("a parser panicked: %v", err)
			}
			return
		}
		if rep == nil {
			t.Fatal("no report and no error")
		}
		if len(rep.Parts) > 2*fuzzLimits.MaxParts+1 {
			t.Fatalf("%d parts", len(rep.Parts))
		}
		total := 0
		for _, p := range rep.Parts {
			total += len(p.Text)
		}
		// Charset conversion can at most quadruple bytes (1 → 4 in UTF-8).
		if bound := 4 * (len(raw) + int(fuzzLimits.MaxDecryptedBytes)); total > bound {
			t.Fatalf("%d bytes of text from %d bytes of input", total, len(raw))
		}
		_ = bot.RenderPlain(rep.Text())
	})
}

// fuzzSeeds are messages of every shape the decoder knows, good and bad,
// made with go-crypto so the seed corpus needs no gpg.
func fuzzSeeds(t testing.TB, team *teamkey.Key) [][]byte {
	t.Helper()
	signer, err := teamkey.Generate("Signer", "signer@example.net", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	enc := func(plain string, s *openpgp.Entity) string {
		b, err := teamkey.EncryptTo([]byte(plain), team.Entity(), s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	binaryEnc := func(plain string) string {
		block, err := armor.Decode(strings.NewReader(enc(plain, nil)))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(block.Body)
		return b.String()
	}
	hdr := "From: Rita <rita@example.net>\r\nTo: security@example.org\r\nSubject: report\r\nMessage-ID: <s@example.net>\r\nMIME-Version: 1.0\r\n"
	pgpMIME := func(inner string, s *openpgp.Entity) string {
		return hdr + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n" +
			enc(inner, s) + "\r\n--b--\r\n"
	}
	inner := "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nSubject: Inner subject\r\n\r\nThe bug.\r\n"
	armoredSig := func(data string) string {
		var b bytes.Buffer
		if err := openpgp.ArmoredDetachSignText(&b, signer.Entity(), strings.NewReader(data), nil); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	signedPart := "Content-Type: text/plain; charset=utf-8\r\n\r\nSigned text.\r\n"
	deep := "Content-Type: text/plain\r\n\r\nbottom\r\n"
	for i := 0; i < 12; i++ {
		deep = fmt.Sprintf("Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n--n%d\r\n%s\r\n--n%d--\r\n", i, i, deep, i)
	}
	truncated := enc(strings.Repeat("long text ", 200), nil)
	seeds := []string{
		pgpMIME(inner, nil),
		pgpMIME(inner, signer.Entity()),
		pgpMIME("Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; micalg=pgp-sha256; boundary=\"s\"\r\n\r\n--s\r\n"+
			signedPart+"\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\n"+armoredSig(signedPart)+"\r\n--s--\r\n", nil),
		pgpMIME("Content-Type: text/html; charset=utf-8\r\n\r\n<p>HTML <b>report</b> <a href=\"https://x.example\">link</a></p><script>x()</script>\r\n", nil),
		pgpMIME("Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nplain\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--a--\r\n", nil),
		hdr + "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n" + enc("inline secret", signer.Entity()) + "after\r\n",
		hdr + "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--m\r\n" +
			"Content-Type: application/pgp-keys; name=\"r.txt.asc\"\r\nContent-Disposition: attachment; filename=\"r.txt.asc\"\r\n\r\n" + enc("attached text", nil) +
			"\r\n--m\r\nContent-Type: application/octet-stream; name=\"p.pgp\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"p.pgp\"\r\n\r\n" +
			base64String(binaryEnc("binary attachment")) + "\r\n--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: forwarded\r\n\r\nforwarded text\r\n--m--\r\n",
		hdr + "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=\"s\"\r\n\r\n--s\r\n" + signedPart +
			"\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\n" + armoredSig(signedPart) + "\r\n--s--\r\n",
		hdr + "Content-Type: text/plain\r\n\r\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nclear\r\n-----BEGIN PGP SIGNATURE-----\r\n\r\nAAAA\r\n-----END PGP SIGNATURE-----\r\n",
		hdr + "Autocrypt: addr=rita@example.net; keydata=AAAA\r\nContent-Type: text/plain\r\n\r\nplain report\r\n",
		hdr + deep,
		hdr + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n--x\r\nbroken\r\n",
		hdr + "Content-Type: text/plain\r\n\r\n" + truncated[:len(truncated)/2],
		hdr + "Content-Type: text/plain\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nZ2FyYmFnZQ==\r\n=AAAA\r\n-----END PGP MESSAGE-----\r\n",
		"",
		"From nobody\nSubject: lf only\n\nbody\n",
	}
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = []byte(s)
	}
	return out
}

func base64String(s string) string { return string(base64Lines([]byte(s))) }

// TestFuzzSeedsDecode checks the seeds mean what they say: the good ones
// decode to the expected text, so the fuzzer starts from valid messages.
func TestFuzzSeedsDecode(t *testing.T) {
	team := fuzzTeam(t)
	dec, err := email.NewDecoder(team, nil, fuzzLimits, nil)
	if err != nil {
		t.Fatal(err)
	}
	seeds := fuzzSeeds(t, team)
	for i, want := range map[int]string{0: "The bug.", 1: "The bug.", 2: "Signed text.", 3: "HTML report link <https://x.example>",
		4: "plain", 5: "inline secret", 6: "binary attachment", 7: "Signed text.", 9: "plain report"} {
		rep, err := dec.Decode(seeds[i])
		if err != nil {
			t.Errorf("seed %d: %v", i, err)
			continue
		}
		if text := bot.RenderPlain(rep.Text()); !strings.Contains(text, want) {
			t.Errorf("seed %d lacks %q:\n%s", i, want, text)
		}
	}
	for i, reason := range map[int]string{10: bot.RejectTooDeep, 11: bot.RejectMalformedMIME, 12: bot.RejectBadArmor, 13: bot.RejectMalformedOpenPGP, 14: bot.RejectMalformedMIME} {
		if _, err := dec.Decode(seeds[i]); err == nil || !strings.HasPrefix(err.Error(), reason) {
			t.Errorf("seed %d: %v, want %s", i, err, reason)
		}
	}
}
