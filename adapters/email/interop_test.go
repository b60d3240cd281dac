package email_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/teamkey"
)

// gpgFixture is a GnuPG home with the team's key (passphrase-protected, as
// in production), a reporter whose key the team knows and a stranger whose
// key it does not.
type gpgFixture struct {
	g                        *gpgtest.GPG
	teamG, reporter, unknown *gpgtest.Key
	team                     *teamkey.Key
	known                    openpgp.EntityList
}

func newGPGFixture(t testing.TB) *gpgFixture {
	t.Helper()
	return gpgFixtureIn(t, gpgtest.New(t))
}

// gpgFixtureIn makes the fixture's keys in g.
func gpgFixtureIn(t testing.TB, g *gpgtest.GPG) *gpgFixture {
	t.Helper()
	f := &gpgFixture{
		g:        g,
		teamG:    g.GenerateKey(t, "Security Team", "security@example.org", gpgtest.KeyOptions{Passphrase: "team passphrase"}),
		reporter: g.GenerateKey(t, "Rita Reporter", "reporter@example.net", gpgtest.KeyOptions{}),
		unknown:  g.GenerateKey(t, "Sam Stranger", "sam@example.com", gpgtest.KeyOptions{}),
	}
	var err error
	if f.team, err = teamkey.Load(f.teamG.SecretKey, []byte(f.teamG.Passphrase)); err != nil {
		t.Fatalf("loading gpg's team key: %v", err)
	}
	if f.known, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(f.reporter.PublicKey)); err != nil {
		t.Fatal(err)
	}
	return f
}

const report = "Hello,\n\nthe login form is vulnerable to reflected XSS via the 'next' parameter.\n\nRegards\n"

func TestInteropReportsBecomeIncidents(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{known: f.known})
	to := []*gpgtest.Key{f.teamG}
	g := f.g
	rita := gpgtest.Mail{From: "Rita Reporter <reporter@example.net>"}
	with := func(m gpgtest.Mail, subject, body string) gpgtest.Mail {
		m.Subject, m.Body = subject, body
		return m
	}

	cases := []struct {
		name      string
		raw       []byte
		title     string
		want      []string // in this order in the rendered report
		not       []string
		sig       bot.SignatureStatus
		encrypted bool
	}{
		{name: "PGP/MIME", raw: g.PGPMIME(t, with(rita, "XSS in login", report), to, gpgtest.MIMEOptions{}),
			title: "XSS in login", want: []string{"Signature: unsigned", "Encrypted text:", "reflected XSS via the 'next' parameter"}, encrypted: true},
		{name: "protected headers", raw: g.PGPMIME(t, with(rita, "RCE in the upload handler", report), to, gpgtest.MIMEOptions{ProtectedHeaders: true}),
			title: "RCE in the upload handler", want: []string{"Encrypted text:", "reflected XSS"}, not: []string{"The subject was not encrypted"}, encrypted: true},
		{name: "signed and encrypted, known signer", raw: g.PGPMIME(t, with(rita, "Signed report", report), to, gpgtest.MIMEOptions{SignWith: f.reporter}),
			title: "Signed report", want: []string{"Signature: verified by " + f.reporter.Fingerprint + " (Rita Reporter <reporter@example.net>)", "reflected XSS"},
			sig: bot.SigVerified, encrypted: true},
		{name: "signed and encrypted, unknown signer", raw: g.PGPMIME(t, with(gpgtest.Mail{From: "sam@example.com"}, "Stranger's report", report), to, gpgtest.MIMEOptions{SignWith: f.unknown}),
			title: "Stranger's report", want: []string{"Signature: signed, unknown key " + f.unknown.KeyID, "reflected XSS"},
			sig: bot.SigUnknownKey, encrypted: true},
		{name: "multipart/signed inside, protected headers", raw: g.PGPMIME(t, with(rita, "Signed inside", report), to,
			gpgtest.MIMEOptions{SignWith: f.reporter, SignedInner: true, ProtectedHeaders: true}),
			title: "Signed inside", want: []string{"Signature: verified by " + f.reporter.Fingerprint, "reflected XSS"}, sig: bot.SigVerified, encrypted: true},
		{name: "multipart/signed inside, unknown signer", raw: g.PGPMIME(t, with(gpgtest.Mail{From: "sam@example.com"}, "Signed inside by a stranger", report), to,
			gpgtest.MIMEOptions{SignWith: f.unknown, SignedInner: true}),
			title: "Signed inside by a stranger", want: []string{"signed, unknown key " + f.unknown.KeyID}, sig: bot.SigUnknownKey, encrypted: true},
		{name: "inline with text around", raw: g.InlineMail(t, with(rita, "Inline report", "The secret part: SQL injection in /search.\n"), to,
			gpgtest.InlineOptions{Before: "Hi, my report is below.", After: "\nSent from my phone\n"}),
			title: "Inline report", want: []string{"UNENCRYPTED text", "Hi, my report is below.", "Encrypted text:", "SQL injection in /search.", "UNENCRYPTED text", "Sent from my phone"},
			encrypted: true},
		{name: "inline, signed", raw: g.InlineMail(t, with(rita, "Inline signed", "Signed inline text.\n"), to,
			gpgtest.InlineOptions{Encrypt: gpgtest.EncryptOptions{SignWith: f.reporter}}),
			title: "Inline signed", want: []string{"Signature: verified by " + f.reporter.Fingerprint, "Encrypted text: [verified by", "Signed inline text."}, sig: bot.SigVerified, encrypted: true},
		{name: "encrypted attachment .asc labelled as a key", raw: g.AttachmentMail(t, with(rita, "Attached report", "See the attachment."), to,
			gpgtest.AttachmentOptions{Filename: "report.txt.asc", ContentType: "application/pgp-keys", Content: []byte("Steps: open /admin without logging in.\n")}),
			title: "Attached report", want: []string{"UNENCRYPTED text", "See the attachment.", `Encrypted attachment "report.txt"`, "Steps: open /admin without logging in."}, encrypted: true},
		{name: "encrypted attachment .pgp (binary)", raw: g.AttachmentMail(t, with(rita, "Binary attachment", "Attached."), to,
			gpgtest.AttachmentOptions{Filename: "poc.py.pgp", Content: []byte("print('proof of concept')\n")}),
			title: "Binary attachment", want: []string{`Encrypted attachment "poc.py"`, "print('proof of concept')"}, encrypted: true},
		{name: "encrypted attachment .gpg as octet-stream", raw: g.AttachmentMail(t, with(rita, "Gpg attachment", "Attached."), to,
			gpgtest.AttachmentOptions{Filename: "crash.bin.gpg", Content: []byte{0, 1, 2, 3, 0xff, 0, 0x7f}}),
			title: "Gpg attachment", want: []string{`Encrypted attachment "crash.bin"`, "not text, not shown"}, encrypted: true},
		{name: "ISO-8859-1 in PGP/MIME", raw: g.PGPMIME(t, gpgtest.Mail{Subject: "Umlaute", Body: "Grüße: der Parser stürzt ab.\n", Charset: "ISO-8859-1"}, to, gpgtest.MIMEOptions{}),
			title: "Umlaute", want: []string{"Grüße: der Parser stürzt ab."}, encrypted: true},
		{name: "windows-1252 inline", raw: g.InlineMail(t, gpgtest.Mail{Subject: "Euro", Body: "Kosten: 500 € – „kritisch“.\n", Charset: "windows-1252"}, to, gpgtest.InlineOptions{}),
			title: "Euro", want: []string{"Kosten: 500 € – „kritisch“."}, encrypted: true},
		{name: "ISO-2022-JP in PGP/MIME", raw: g.PGPMIME(t, gpgtest.Mail{Subject: "脆弱性の報告", Body: "ログイン画面に脆弱性があります。\n", Charset: "ISO-2022-JP"}, to, gpgtest.MIMEOptions{ProtectedHeaders: true}),
			title: "脆弱性の報告", want: []string{"ログイン画面に脆弱性があります。"}, encrypted: true},
		{name: "HTML only", raw: g.PGPMIME(t, gpgtest.Mail{Subject: "HTML report", HTML: true,
			Body: `<html><head><title>t</title><style>p{}</style></head><body><p>Stored XSS in <b>comments</b>.</p><script>alert(1)</script><p><a href="https://evil.example/x">details</a></p></body></html>`}, to, gpgtest.MIMEOptions{}),
			title: "HTML report", want: []string{"Encrypted text (converted from HTML):", "Stored XSS in comments.", "details <https://evil.example/x>"},
			not: []string{"alert(1)", "<b>", "p{}"}, encrypted: true},
		{name: "plaintext", raw: gpgtest.PlainMail(t, with(rita, "Plain report", "Unencrypted: DoS in the API.\n")),
			title: "Plain report", want: []string{"UNENCRYPTED text", "DoS in the API."}, encrypted: false},
		{name: "signed, not encrypted", raw: g.SignedMail(t, with(rita, "Signed plaintext", "Signed but readable by all.\n"), f.reporter),
			title: "Signed plaintext", want: []string{"verified by " + f.reporter.Fingerprint, "UNENCRYPTED text", "Signed but readable by all."}, sig: bot.SigVerified},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := p.receive(t, bot.SourcePipe, tc.raw)
			if res.IncidentID == 0 {
				t.Fatalf("quarantined: %s %+v", res.Reason, p.quarantine(t)[0])
			}
			inc := p.incident(t, res.IncidentID)
			if inc.Title != tc.title || inc.Encrypted != tc.encrypted {
				t.Errorf("incident %q encrypted=%v, want %q encrypted=%v", inc.Title, inc.Encrypted, tc.title, tc.encrypted)
			}
			body := lf(p.body(t, res.IncidentID))
			at := 0
			for _, w := range tc.want {
				i := strings.Index(body[at:], w)
				if i < 0 {
					t.Fatalf("report lacks %q (in order) after offset %d:\n%s", w, at, body)
				}
				at += i + len(w)
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("report shows %q:\n%s", n, body)
				}
			}
			rep, err := p.in.Report(context.Background(), res.IncidentID)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Signature.Status != tc.sig {
				t.Errorf("signature %q, want %q", rep.Signature.Status, tc.sig)
			}
			if again := p.receive(t, bot.SourcePipe, tc.raw); !again.Duplicate || again.IncidentID != res.IncidentID {
				t.Errorf("re-delivery: %+v, want the same incident as a duplicate", again)
			}
		})
	}
}

// TestInlineTextNeverMerged is the EFAIL rule: text around an encrypted
// block stays a separate part, labelled, whatever it contains.
func TestInlineTextNeverMerged(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{})
	raw := f.g.InlineMail(t, gpgtest.Mail{Subject: "x", Body: "SECRET-INSIDE\n"}, []*gpgtest.Key{f.teamG},
		gpgtest.InlineOptions{Before: "ATTACKER-BEFORE", After: "ATTACKER-AFTER"})
	res := p.receive(t, bot.SourceIMAP, raw)
	rep, err := p.in.Report(context.Background(), res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Parts) != 3 {
		t.Fatalf("%d parts, want 3: %+v", len(rep.Parts), rep.Parts)
	}
	for i, want := range []struct {
		enc  bool
		text string
	}{{false, "ATTACKER-BEFORE"}, {true, "SECRET-INSIDE"}, {false, "ATTACKER-AFTER"}} {
		if got := rep.Parts[i]; got.Encrypted != want.enc || strings.TrimSpace(got.Text) != want.text {
			t.Errorf("part %d: encrypted=%v %q, want %v %q", i, got.Encrypted, got.Text, want.enc, want.text)
		}
	}
}

func TestInteropBadInputsAreQuarantined(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{limits: email.Limits{MaxMessageBytes: 4 << 20}})
	to := []*gpgtest.Key{f.teamG}
	g := f.g
	secret := []byte(strings.Repeat("The secret details of the bug are here. ", 4))
	envelope := func(armored []byte) []byte {
		return gpgtest.PGPMIMEEnvelope(gpgtest.Mail{From: "Mallory <mallory@example.net>"}, armored)
	}
	cases := []struct {
		name, reason string
		raw          []byte
		stored       bool
	}{
		{"wrong key", bot.RejectWrongKey, envelope(g.WrongRecipient(t, secret)), true},
		{"bit-flipped ciphertext", bot.RejectIntegrity, envelope(g.Tampered(t, secret, to)), true},
		{"no integrity protection", bot.RejectNoIntegrity, envelope(g.NoMDC(t, secret, to)), true},
		{"truncated", bot.RejectBadArmor, envelope(gpgtest.TruncateArmor(g.Encrypt(t, bytes.Repeat(secret, 20), to, gpgtest.EncryptOptions{Compress: "none"}))), true},
		{"garbage armor", bot.RejectMalformedOpenPGP, envelope(gpgtest.GarbageArmor()), true},
		{"compression bomb", bot.RejectDecryptedTooLarge, envelope(g.CompressionBomb(t, to, 1<<30)), true},
		{"256 MiB bomb in gpg's chunks", bot.RejectDecryptedTooLarge, envelope(g.Bomb(t, to, 256<<20, gpgtest.BombChunked)), true},
		{"oversized", bot.RejectTooLarge, g.OversizedMail(t, gpgtest.Mail{}, to, 5<<20), false},
		{"broken boundary", bot.RejectMalformedMIME, gpgtest.BrokenBoundaryMail(gpgtest.Mail{}, g.Encrypt(t, secret, to, gpgtest.EncryptOptions{})), true},
		{"deep nesting", bot.RejectTooDeep, gpgtest.DeepNestingMail(gpgtest.Mail{}, 100), true},
		{"inline, wrong key", bot.RejectWrongKey, g.InlineMail(t, gpgtest.Mail{Body: "x"}, []*gpgtest.Key{f.unknown}, gpgtest.InlineOptions{Before: "hi"}), true},
		{"attachment, tampered", bot.RejectIntegrity, tamperAttachment(t, g.AttachmentMail(t, gpgtest.Mail{}, to,
			gpgtest.AttachmentOptions{Filename: "r.asc", Content: secret, Encrypt: gpgtest.EncryptOptions{Compress: "none"}})), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := p.receive(t, bot.SourceIMAP, tc.raw)
			if res.QuarantineID == 0 || res.Reason != tc.reason {
				t.Fatalf("got %+v, want quarantine with reason %s", res, tc.reason)
			}
			if (res.ReportID != 0) != tc.stored {
				t.Errorf("stored report %d, want stored=%v", res.ReportID, tc.stored)
			}
			if again := p.receive(t, bot.SourceIMAP, tc.raw); again.QuarantineID != res.QuarantineID || !again.Duplicate {
				t.Errorf("re-delivery: %+v, want the same quarantine entry", again)
			}
		})
	}
	// Every entry was announced once, naming the sender and the reason and
	// nothing of the content.
	msgs, err := p.db.DueMessages(context.Background(), t0.Add(1e12), 1000)
	if err != nil {
		t.Fatal(err)
	}
	notices := 0
	for _, m := range msgs {
		if m.Kind != bot.MessageQuarantine {
			continue
		}
		notices++
		text := bot.RenderPlain(m.Text)
		if m.Dest.Channel != bot.ChannelTriage || !m.Confidential || !strings.Contains(text, "Quarantined a message received by imap") {
			t.Errorf("notice: %+v %s", m.Dest, text)
		}
		if strings.Contains(text, "secret details") {
			t.Errorf("notice leaks content: %s", text)
		}
	}
	if notices != len(cases) {
		t.Errorf("%d quarantine notices, want %d", notices, len(cases))
	}
	if q := p.quarantine(t); len(q) != len(cases) || !strings.Contains(q[len(q)-1].Sender, "mallory@example.net") {
		t.Errorf("quarantine: %+v", q)
	}
}

// tamperAttachment flips a bit in the base64 attachment's ciphertext.
func tamperAttachment(t *testing.T, raw []byte) []byte {
	t.Helper()
	i := bytes.Index(raw, []byte("Content-Transfer-Encoding: base64\r\n\r\n"))
	if i < 0 {
		t.Fatal("no base64 attachment")
	}
	start := i + len("Content-Transfer-Encoding: base64\r\n\r\n")
	end := start + bytes.Index(raw[start:], []byte("\r\n--"))
	dec, err := decodeBase64Lines(raw[start:end])
	if err != nil {
		t.Fatal(err)
	}
	flipped := gpgtest.FlipBit(t, dec)
	return append(append(append([]byte{}, raw[:start]...), base64Lines(flipped)...), raw[end:]...)
}

func TestPlaintextRefusedWhenEncryptionRequired(t *testing.T) {
	team, err := teamkey.Generate("Team", "security@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, team, pipelineOptions{requireEnc: true})
	res := p.receive(t, bot.SourceWeb, gpgtest.PlainMail(t, gpgtest.Mail{Subject: "plain", Body: "plaintext report\n"}))
	if res.Reason != bot.RejectNotEncrypted || res.ReportID == 0 {
		t.Fatalf("%+v, want quarantined as not-encrypted, stored (sealed)", res)
	}
}

// TestCanaryNotInDatabase greps the SQLite files for sentences from the
// plaintext of reports: encrypted ones, plaintext ones (sealed before
// storing) and quarantined ones. None may be there.
func TestCanaryNotInDatabase(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{known: f.known})
	to := []*gpgtest.Key{f.teamG}
	canaries := map[string][]byte{
		"CANARY-PGPMIME the parser overflows at offset 4096":   nil,
		"CANARY-INLINE the session cookie is predictable":      nil,
		"CANARY-ATTACHMENT the admin token never expires":      nil,
		"CANARY-PLAIN anyone can reset any password":           nil,
		"CANARY-QUARANTINED plaintext while encryption needed": nil,
	}
	for c := range canaries {
		m := gpgtest.Mail{Subject: "report", Body: c + "\n"}
		switch {
		case strings.HasPrefix(c, "CANARY-PGPMIME"):
			canaries[c] = f.g.PGPMIME(t, m, to, gpgtest.MIMEOptions{SignWith: f.reporter, ProtectedHeaders: true})
		case strings.HasPrefix(c, "CANARY-INLINE"):
			canaries[c] = f.g.InlineMail(t, m, to, gpgtest.InlineOptions{Before: "see below"})
		case strings.HasPrefix(c, "CANARY-ATTACHMENT"):
			canaries[c] = f.g.AttachmentMail(t, gpgtest.Mail{Body: "attached"}, to, gpgtest.AttachmentOptions{Content: []byte(c)})
		default:
			canaries[c] = gpgtest.PlainMail(t, m)
		}
	}
	for c, raw := range canaries {
		in := p
		if strings.HasPrefix(c, "CANARY-QUARANTINED") {
			in = newPipelineOnDB(t, p, pipelineOptions{requireEnc: true})
		}
		res := in.receive(t, bot.SourcePipe, raw)
		if res.IncidentID != 0 && !strings.Contains(p.body(t, res.IncidentID), c) {
			t.Fatalf("the canary %q is not even in the decrypted report", c)
		}
	}
	for _, path := range []string{p.dbPath, p.dbPath + "-wal"} {
		data, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		for c := range canaries {
			for _, needle := range []string{c, c[strings.IndexByte(c, ' ')+1:]} {
				if bytes.Contains(data, []byte(needle)) {
					t.Errorf("%s holds %q in plaintext", path, needle)
				}
			}
		}
	}
}

// TestReporterKeyFromAttachmentAndAutocrypt: replies are encrypted to a
// key the reporter sent inside the encryption, or in an Autocrypt header
// for the sender's address.
func TestReporterKeyFromAttachmentAndAutocrypt(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{})
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(f.reporter.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	var binKey bytes.Buffer
	if err := ring[0].Serialize(&binKey); err != nil {
		t.Fatal(err)
	}

	// Key attached inside the encryption (Thunderbird's "attach my public key").
	inner := "Content-Type: multipart/mixed; boundary=\"k\"\r\n\r\n--k\r\nContent-Type: text/plain\r\n\r\nReport text.\r\n" +
		"--k\r\nContent-Type: application/pgp-keys; name=\"OpenPGP_0x" + f.reporter.KeyID + ".asc\"\r\n" +
		"Content-Disposition: attachment; filename=\"OpenPGP_0x" + f.reporter.KeyID + ".asc\"\r\n\r\n" +
		strings.ReplaceAll(string(f.reporter.PublicKey), "\n", "\r\n") + "\r\n--k--\r\n"
	raw := gpgtest.PGPMIMEEnvelope(gpgtest.Mail{From: "Rita <reporter@example.net>", Subject: "with key"},
		f.g.Encrypt(t, []byte(inner), []*gpgtest.Key{f.teamG}, gpgtest.EncryptOptions{}))
	res := p.receive(t, bot.SourceIMAP, raw)
	rep, err := p.in.Report(context.Background(), res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ReporterKeyFingerprint != f.reporter.Fingerprint || rep.ReporterKeySource != "attached, encrypted" || len(rep.ReporterKey) == 0 {
		t.Errorf("attached key: %q from %q", rep.ReporterKeyFingerprint, rep.ReporterKeySource)
	}
	if inc := p.incident(t, res.IncidentID); inc.ReporterKey != f.reporter.Fingerprint {
		t.Errorf("incident reporter key %q", inc.ReporterKey)
	}

	// Autocrypt, on a plaintext mail; for another address it is ignored.
	keydata := base64String(binKey.String())
	for _, tc := range []struct{ from, want string }{{"reporter@example.net", f.reporter.Fingerprint}, {"mallory@example.net", ""}} {
		raw := []byte("From: " + tc.from + "\r\nSubject: autocrypt " + tc.from + "\r\nAutocrypt: addr=" + tc.from + "; prefer-encrypt=mutual; keydata=\r\n " +
			strings.ReplaceAll(keydata, "\r\n", "\r\n ") + "\r\nContent-Type: text/plain\r\n\r\nplain report\r\n")
		res := p.receive(t, bot.SourceIMAP, raw)
		rep, err := p.in.Report(context.Background(), res.IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		if rep.ReporterKeyFingerprint != tc.want || (tc.want != "" && rep.ReporterKeySource != "Autocrypt") {
			t.Errorf("Autocrypt from %s: %q from %q", tc.from, rep.ReporterKeyFingerprint, rep.ReporterKeySource)
		}
	}
}
