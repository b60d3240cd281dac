package email_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// TestEveryLimitHasItsOwnReason walks every bound of email.Limits (and the
// fixed ones): a message just over it is rejected with that limit's own
// reason, never as damage (integrity-failed, malformed-*) nor as another
// limit. The compression bombs are 256 MiB each, in every framing go-crypto
// counts differently, and cost a few hundred KiB each to build.
func TestEveryLimitHasItsOwnReason(t *testing.T) {
	f := newGPGFixture(t)
	to := []*gpgtest.Key{f.teamG}
	limits := email.Limits{
		MaxMessageBytes: 16 << 20, MaxDecryptedBytes: 8 << 20, MaxParts: 20, MaxDepth: 5,
		MaxAttachments: 3, MaxAttachmentBytes: 64 << 10, MaxHeaderBytes: 8 << 10, MaxRecipients: 2,
	}
	dec, err := email.NewDecoder(f.team, nil, limits, discard())
	if err != nil {
		t.Fatal(err)
	}
	plain := func(contentType, body string) []byte {
		return []byte("From: rita@example.net\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: " + contentType + "\r\n\r\n" + body)
	}
	mixed := func(parts ...string) []byte {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString("--b\r\n" + p + "\r\n")
		}
		b.WriteString("--b--\r\n")
		return plain(`multipart/mixed; boundary="b"`, b.String())
	}
	file := func(name string, size int) string {
		return "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + strings.Repeat("A", size)
	}
	// A decoder whose decrypted limit is above its message limit, for a
	// decrypted part bigger than a message may be.
	small, err := email.NewDecoder(f.team, nil, email.Limits{MaxMessageBytes: 1 << 20, MaxDecryptedBytes: 4 << 20}, discard())
	if err != nil {
		t.Fatal(err)
	}
	bigPart := "Content-Type: text/plain\r\n\r\n" + strings.Repeat("x", 2<<20)
	const bomb = 256 << 20
	cases := []struct {
		name, reason string
		raw          []byte
	}{
		{"message size", bot.RejectTooLarge, plain("text/plain", strings.Repeat("x", 16<<20+1))},
		{"decrypted size, uncompressed", bot.RejectDecryptedTooLarge,
			gpgtest.PGPMIMEEnvelope(gpgtest.Mail{}, f.g.Encrypt(t, make([]byte, 8<<20+1), to, gpgtest.EncryptOptions{Compress: "none"}))},
		{"decrypted size, blocks together", bot.RejectDecryptedTooLarge, plain("text/plain",
			strings.Repeat(string(f.g.Encrypt(t, make([]byte, 9<<19), to, gpgtest.EncryptOptions{Compress: "none"}))+"\r\n", 2))},
		{"256 MiB bomb, one literal packet", bot.RejectDecryptedTooLarge,
			gpgtest.PGPMIMEEnvelope(gpgtest.Mail{}, f.g.Bomb(t, to, bomb, gpgtest.BombLiteral))},
		{"256 MiB bomb, in gpg's 8 KiB chunks", bot.RejectDecryptedTooLarge,
			gpgtest.PGPMIMEEnvelope(gpgtest.Mail{}, f.g.Bomb(t, to, bomb, gpgtest.BombChunked))},
		{"256 MiB bomb, padding before the data", bot.RejectDecryptedTooLarge,
			gpgtest.PGPMIMEEnvelope(gpgtest.Mail{}, f.g.Bomb(t, to, bomb, gpgtest.BombPadding))},
		{"attachment size", bot.RejectAttachmentTooLarge, mixed(file("a.bin", 64<<10+1))},
		{"decrypted attachment size", bot.RejectAttachmentTooLarge, f.g.AttachmentMail(t, gpgtest.Mail{}, to,
			gpgtest.AttachmentOptions{Filename: "poc.bin.pgp", Content: make([]byte, 64<<10+1)})},
		{"attachments", bot.RejectTooManyAttachments, mixed(file("1", 1), file("2", 1), file("3", 1), file("4", 1))},
		{"parts", bot.RejectTooManyParts, mixed(strings.Split(strings.Repeat("Content-Type: text/plain\r\n\r\nx\n", 21), "\n")[:21]...)},
		{"nesting", bot.RejectTooDeep, gpgtest.DeepNestingMail(gpgtest.Mail{}, 6)},
		{"header", bot.RejectHeaderTooLarge, []byte("From: rita@example.net\r\nX-Long: " + strings.Repeat("h", 8<<10) + "\r\n\r\nbody\r\n")},
		{"recipients", bot.RejectTooManyRecipients,
			gpgtest.PGPMIMEEnvelope(gpgtest.Mail{}, f.g.Encrypt(t, []byte("x"), []*gpgtest.Key{f.teamG, f.reporter, f.unknown}, gpgtest.EncryptOptions{}))},
		{"decrypted part over the message size (small decoder)", bot.RejectTooLarge,
			gpgtest.PGPMIMEEnvelope(gpgtest.Mail{}, f.g.Encrypt(t, []byte(bigPart), to, gpgtest.EncryptOptions{Compress: "zlib"}))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dec
			if strings.HasPrefix(tc.name, "decrypted part") {
				d = small
			}
			_, err := d.Decode(tc.raw)
			rej, ok := bot.AsRejection(err)
			if !ok || rej.Reason != tc.reason {
				t.Fatalf("Decode: %v, want %s", err, tc.reason)
			}
			if !strings.Contains(rej.Detail, fmt.Sprint("than ")) {
				t.Errorf("the detail names no bound: %q", rej.Detail)
			}
		})
	}
}
