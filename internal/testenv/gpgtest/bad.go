package gpgtest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// Builders of broken input for negative tests. Each says how it is meant
// to fail, so a test can assert the bot fails in that way and no other.

// WrongRecipient encrypts plaintext to a key that is not the team's (a
// reporter who picked an old or wrong key). The stranger's secret key is
// deleted from this home, so gpg here fails too, with status NO_SECKEY.
func (g *GPG) WrongRecipient(t testing.TB, plaintext []byte) []byte {
	t.Helper()
	g.mu.Lock()
	stranger := g.stranger
	g.mu.Unlock()
	if stranger == nil {
		stranger = g.GenerateKey(t, "Someone Else", "someone@example.com", KeyOptions{})
		g.must(t, nil, "--delete-secret-keys", stranger.Fingerprint)
		g.mu.Lock()
		g.stranger = stranger
		g.mu.Unlock()
	}
	return g.Encrypt(t, plaintext, []*Key{stranger}, EncryptOptions{})
}

// Tampered encrypts plaintext (use at least 64 bytes) without compression
// and flips one ciphertext bit in the middle of the encrypted data: the
// message still parses and the session key decrypts, but the MDC check
// fails (gpg: "encrypted message has been manipulated", DECRYPTION_FAILED;
// go-crypto: an error while reading to EOF). Without compression the
// damage cannot surface earlier as a decompression error.
func (g *GPG) Tampered(t testing.TB, plaintext []byte, recipients []*Key) []byte {
	t.Helper()
	return FlipBit(t, g.Encrypt(t, plaintext, recipients, EncryptOptions{Compress: "none"}))
}

// FlipBit flips the low bit of the middle byte of the encrypted data
// packet's body (tag 18 SEIPD or tag 9 SED) in an armored or binary
// message, stepping over partial-length headers so the packet framing
// stays intact, and returns it in the same form. This is the one tamper
// gpg has no option for, so it is done on the bytes.
func FlipBit(t testing.TB, msg []byte) []byte {
	t.Helper()
	armored := bytes.HasPrefix(bytes.TrimSpace(msg), []byte("-----BEGIN"))
	raw := msg
	if armored {
		block, err := armor.Decode(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("FlipBit: %v", err)
		}
		if raw, err = io.ReadAll(block.Body); err != nil {
			t.Fatalf("FlipBit: %v", err)
		}
	}
	ranges, err := encryptedBody(raw)
	if err != nil {
		t.Fatalf("FlipBit: %v", err)
	}
	total := 0
	for _, r := range ranges {
		total += r[1] - r[0]
	}
	target := total / 2
	out := bytes.Clone(raw)
	for _, r := range ranges {
		if n := r[1] - r[0]; target >= n {
			target -= n
			continue
		}
		out[r[0]+target] ^= 0x01
		break
	}
	if !armored {
		return out
	}
	var b bytes.Buffer
	w, _ := armor.Encode(&b, "PGP MESSAGE", nil)
	_, _ = w.Write(out)
	_ = w.Close()
	b.WriteString("\n")
	return b.Bytes()
}

// encryptedBody walks the packet stream and returns the [start, end)
// ranges of the first encrypted data packet's body bytes.
func encryptedBody(raw []byte) ([][2]int, error) {
	pos := 0
	for pos < len(raw) {
		hdr := raw[pos]
		if hdr&0x80 == 0 {
			return nil, fmt.Errorf("no packet header at offset %d", pos)
		}
		var tag byte
		var ranges [][2]int
		if hdr&0x40 != 0 { // new format: lengths, possibly partial
			tag = hdr & 0x3f
			pos++
			for {
				if pos >= len(raw) {
					return nil, fmt.Errorf("truncated packet")
				}
				l, n, partial := newLength(raw[pos:])
				pos += n
				ranges = append(ranges, [2]int{pos, min(pos+l, len(raw))})
				pos += l
				if !partial {
					break
				}
			}
		} else { // old format
			tag = (hdr >> 2) & 0x0f
			lenBytes := []int{1, 2, 4, 0}[hdr&3]
			pos++
			l := len(raw) - pos - lenBytes // type 3: to the end
			if lenBytes > 0 {
				l = 0
				for i := 0; i < lenBytes; i++ {
					l = l<<8 | int(raw[pos+i])
				}
			}
			pos += lenBytes
			ranges = append(ranges, [2]int{pos, min(pos+l, len(raw))})
			pos += l
		}
		if tag == 18 || tag == 9 {
			return ranges, nil
		}
	}
	return nil, fmt.Errorf("no encrypted data packet")
}

// newLength decodes a new-format length (RFC 4880 §4.2.2).
func newLength(b []byte) (length, size int, partial bool) {
	switch o := int(b[0]); {
	case o < 192:
		return o, 1, false
	case o < 224:
		return (o-192)<<8 + int(b[1]) + 192, 2, false
	case o < 255:
		return 1 << (o & 0x1f), 1, true
	default:
		return int(b[1])<<24 | int(b[2])<<16 | int(b[3])<<8 | int(b[4]), 5, false
	}
}

// NoMDC encrypts plaintext as a legacy SED packet without integrity
// protection (see EncryptOptions.NoMDC). gpg refuses to decrypt it
// ("decryption forced to fail", DECRYPTION_FAILED) unless given
// --ignore-mdc-error; go-crypto refuses it unless
// InsecureAllowUnauthenticatedMessages is set.
func (g *GPG) NoMDC(t testing.TB, plaintext []byte, recipients []*Key) []byte {
	t.Helper()
	return g.Encrypt(t, plaintext, recipients, EncryptOptions{NoMDC: true})
}

// TruncateArmor cuts an armored message in the middle of its base64 and
// drops the rest, checksum and END line included, as a mail client that
// cut a long line or a copy-paste would.
func TruncateArmor(armored []byte) []byte {
	lines := strings.SplitAfter(string(armored), "\n")
	var body []int // indexes of base64 lines
	inBody := false
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(trimmed, "-----BEGIN"):
			inBody = false
		case !inBody && trimmed == "":
			inBody = true // blank line ends the armor headers
		case inBody && trimmed != "" && !strings.HasPrefix(trimmed, "=") && !strings.HasPrefix(trimmed, "-----"):
			body = append(body, i)
		}
	}
	if len(body) == 0 {
		return armored[:len(armored)/2]
	}
	cut := body[len(body)/2]
	half := strings.TrimRight(lines[cut], "\r\n")
	return []byte(strings.Join(lines[:cut], "") + half[:len(half)/2] + "\n")
}

// GarbageArmor is well-formed ASCII armor (valid base64 and CRC) around
// random bytes that are no OpenPGP packet: armor decoding succeeds and
// packet parsing fails at the first byte.
func GarbageArmor() []byte {
	junk := make([]byte, 300)
	_, _ = rand.Read(junk)
	junk[0] &= 0x7f // bit 7 clear: never a valid packet tag
	var b bytes.Buffer
	w, _ := armor.Encode(&b, "PGP MESSAGE", nil)
	_, _ = w.Write(junk)
	_ = w.Close()
	b.WriteString("\n")
	return b.Bytes()
}

// OversizedMail is a PGP/MIME-encrypted mail of at least size bytes: an
// incompressible attachment, encrypted without compression, so a size
// limit must trip before any decryption work.
func (g *GPG) OversizedMail(t testing.TB, m Mail, recipients []*Key, size int) []byte {
	t.Helper()
	filler := make([]byte, size*3/4) // base64 (x4/3) gets it to size
	_, _ = rand.Read(filler)
	return g.AttachmentMail(t, m, recipients, AttachmentOptions{
		Filename: "dump.bin.pgp", Content: filler, Encrypt: EncryptOptions{Compress: "none"},
	})
}

// BrokenBoundaryMail is a multipart/encrypted mail whose declared
// boundary never appears (the parts use another one) and whose last part
// is never closed. A parser finds no parts, not the encrypted payload.
func BrokenBoundaryMail(m Mail, armored []byte) []byte {
	m = m.withDefaults()
	mail := encryptedEnvelope(m, m.Subject, armored)
	i := bytes.Index(mail, []byte(`boundary="`)) + len(`boundary="`)
	j := i + bytes.IndexByte(mail[i:], '"')
	declared := string(mail[i:j])
	out := bytes.Replace(mail, []byte(declared), []byte(declared[:len(declared)-4]+"XXXX"), 1)
	return bytes.Replace(out, []byte("--"+declared+"--\r\n"), nil, 1)
}

// DeepNestingMail nests depth multipart/mixed entities, with a text part
// at the bottom, to test recursion limits (real clients stay below ~5).
func DeepNestingMail(m Mail, depth int) []byte {
	m = m.withDefaults()
	inner := []byte("Content-Type: text/plain; charset=UTF-8\r\n\r\nbottom\r\n")
	for i := 0; i < depth; i++ {
		b := fmt.Sprintf("nest%d", i)
		inner = []byte(fmt.Sprintf("Content-Type: multipart/mixed; boundary=%q\r\n\r\n--%s\r\n%s\r\n--%s--\r\n",
			b, b, inner, b))
	}
	headers := strings.Join(outerHeaders(m, m.Subject), "\r\n") + "\r\n"
	return append([]byte(headers), inner...)
}
