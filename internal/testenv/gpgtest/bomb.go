package gpgtest

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"hash/adler32"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// CompressionBomb is an armored message to recipients whose literal data
// is size zero bytes (1<<30 for the classic 1 GiB) in a ZLIB compressed
// packet of about size/1000 bytes, inside an ordinary MDC-protected
// (SEIPD v1) packet. It is valid OpenPGP: gpg decrypts it (slowly, to
// size bytes); a reader without a decompression limit will try to hold
// it all in memory.
//
// It is the one builder not made by gpg: piping 1 GiB of zeros through
// gpg --compress-algo zlib takes about 5 s on this machine. Instead the
// deflate stream is assembled from pieces (see zeroDeflate) in about a
// millisecond, and go-crypto's packet package writes the PKESK and SEIPD
// packets around it (AES-256, the recipients' encryption subkeys).
func (g *GPG) CompressionBomb(t testing.TB, recipients []*Key, size int64) []byte {
	t.Helper()
	sessionKey := make([]byte, 32)
	if _, err := rand.Read(sessionKey); err != nil {
		t.Fatal(err)
	}
	var msg bytes.Buffer
	for _, k := range recipients {
		ents, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(k.PublicKey))
		if err != nil || len(ents) != 1 {
			t.Fatalf("CompressionBomb: reading %s: %v", k.UserID, err)
		}
		sub, ok := ents[0].EncryptionKey(time.Now())
		if !ok {
			t.Fatalf("CompressionBomb: %s has no usable encryption key", k.UserID)
		}
		if err := packet.SerializeEncryptedKeyAEAD(&msg, sub.PublicKey, packet.CipherAES256, false, sessionKey, nil); err != nil {
			t.Fatalf("CompressionBomb: PKESK: %v", err)
		}
	}
	w, err := packet.SerializeSymmetricallyEncrypted(&msg, packet.CipherAES256, false, packet.CipherSuite{}, sessionKey, nil)
	if err != nil {
		t.Fatalf("CompressionBomb: SEIPD: %v", err)
	}
	compressed := zlibZeros(literalHeader(size), size)
	// Compressed Data packet (tag 8), new format, 5-byte length; body is
	// the algorithm (2 = ZLIB) and the zlib stream.
	hdr := []byte{0xc8, 0xff, 0, 0, 0, 0, byte(packet.CompressionZLIB)}
	binary.BigEndian.PutUint32(hdr[2:6], uint32(1+len(compressed)))
	_, _ = w.Write(hdr)
	_, _ = w.Write(compressed)
	if err := w.Close(); err != nil {
		t.Fatalf("CompressionBomb: %v", err)
	}
	var out bytes.Buffer
	aw, _ := armor.Encode(&out, "PGP MESSAGE", nil)
	_, _ = aw.Write(msg.Bytes())
	_ = aw.Close()
	out.WriteString("\n")
	return out.Bytes()
}

// literalHeader is the start of a Literal Data packet (tag 11, binary,
// no file name, date 0) of n data bytes, which must follow it.
func literalHeader(n int64) []byte {
	h := []byte{0xcb, 0xff, 0, 0, 0, 0, 'b', 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[2:6], uint32(6+n))
	return h
}

// zlibZeros is a zlib stream of prefix followed by n zero bytes.
func zlibZeros(prefix []byte, n int64) []byte {
	var out bytes.Buffer
	out.Write([]byte{0x78, 0xda}) // deflate, 32 KiB window, best compression
	out.Write(zeroDeflate(prefix, n))
	// Adler-32 of prefix+zeros without touching n bytes: a zero leaves the
	// low sum a as it is and adds a to b, so n zeros add n*a to b.
	sum := adler32.Checksum(prefix)
	a, b := uint64(sum&0xffff), uint64(sum>>16)
	b = (b + uint64(n%65521)*a) % 65521
	_ = binary.Write(&out, binary.BigEndian, uint32(b<<16|a))
	return out.Bytes()
}

// zeroDeflate is a raw deflate stream of prefix and n zeros, made by
// compressing only a few chunks. After a sync flush the stream is byte
// aligned, and once a chunk of zeros follows a 32 KiB window of zeros, its
// encoding only copies zeros from the window, so the same bytes decode
// to another chunk of zeros wherever they are repeated.
func zeroDeflate(prefix []byte, n int64) []byte {
	const chunk = 1 << 20
	var out, buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, chunk)
	first := min(n, chunk)
	_, _ = fw.Write(prefix)
	_, _ = fw.Write(zeros[:first])
	_ = fw.Flush()
	out.Write(buf.Bytes())
	rest := n - first
	if reps := rest / chunk; reps > 0 {
		buf.Reset()
		_, _ = fw.Write(zeros)
		_ = fw.Flush()
		out.Write(bytes.Repeat(buf.Bytes(), int(reps)))
	}
	if tail := rest % chunk; tail > 0 {
		buf.Reset()
		_, _ = fw.Write(zeros[:tail])
		_ = fw.Flush()
		out.Write(buf.Bytes())
	}
	// Final empty fixed-Huffman block: BFINAL=1, BTYPE=01, end-of-block.
	out.Write([]byte{0x03, 0x00})
	return out.Bytes()
}
