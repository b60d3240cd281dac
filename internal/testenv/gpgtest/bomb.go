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
	return g.Bomb(t, recipients, size, BombLiteral)
}

// BombKind is how a compression bomb frames its size bytes.
type BombKind int

const (
	// BombLiteral: one literal packet of known length (see CompressionBomb).
	BombLiteral BombKind = iota
	// BombChunked: literal data in 8 KiB partial-length chunks, as gpg
	// writes data it streams from a pipe (head -c 256M /dev/zero | gpg -e):
	// every chunk adds a length byte to what decompresses.
	BombChunked
	// BombPadding: a padding packet (tag 21) of size zeros, then a short
	// literal packet: the limit trips before any data is read.
	BombPadding
)

// Bomb is CompressionBomb with the decompressed size bytes framed as kind
// says. Each kind is a few hundred KiB per 256 MiB and made in
// milliseconds.
func (g *GPG) Bomb(t testing.TB, recipients []*Key, size int64, kind BombKind) []byte {
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
	var compressed []byte
	switch kind {
	case BombChunked:
		compressed = chunkedZeros(size)
	case BombPadding:
		pad := []byte{0xd5, 0xff, 0, 0, 0, 0} // tag 21, new format, 5-byte length
		binary.BigEndian.PutUint32(pad[2:], uint32(size))
		data := []byte("after the padding\n")
		const mib = 1 << 20
		compressed = zlibRepeat(pad, make([]byte, mib), int(size/mib),
			append(make([]byte, size%mib), append(literalHeader(int64(len(data))), data...)...))
	default:
		compressed = zlibZeros(literalHeader(size), size)
	}
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

// chunkSize is the partial body length of BombChunked: 2^13, what gpg
// uses for literal data it streams (ctb cb, length byte ed).
const chunkSize = 1 << 13

// chunkedZeros is a zlib stream of a literal packet of about size zero
// bytes in partial-length chunks of 8 KiB, ended by an empty chunk. The
// repeated unit is four chunks: deflate needs at least its 32 KiB window.
func chunkedZeros(size int64) []byte {
	first := append([]byte{0xcb, 0xe0 | 13, 'b', 0, 0, 0, 0, 0}, make([]byte, chunkSize-6)...)
	chunk := append([]byte{0xe0 | 13}, make([]byte, chunkSize)...)
	unit := bytes.Repeat(chunk, 4)
	rest := size/chunkSize - 1
	return zlibRepeat(first, unit, int(rest/4), append(bytes.Repeat(chunk, int(rest%4)), 0))
}

// zlibRepeat is a zlib stream of prefix, reps times unit, then suffix,
// compressing unit only twice. unit must be at least 32 KiB long (the
// deflate window), so that every repetition after the first starts from
// the same window (the unit's end) and the same compressed bytes decode
// to the same unit (see zeroDeflate).
func zlibRepeat(prefix, unit []byte, reps int, suffix []byte) []byte {
	var out, buf bytes.Buffer
	out.Write([]byte{0x78, 0xda})
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = fw.Write(prefix)
	if reps > 0 {
		_, _ = fw.Write(unit)
	}
	_ = fw.Flush()
	out.Write(buf.Bytes())
	if reps > 1 {
		buf.Reset()
		_, _ = fw.Write(unit)
		_ = fw.Flush()
		out.Write(bytes.Repeat(buf.Bytes(), reps-1))
	}
	buf.Reset()
	_, _ = fw.Write(suffix)
	_ = fw.Flush()
	out.Write(buf.Bytes())
	out.Write([]byte{0x03, 0x00}) // final empty fixed-Huffman block
	sum := adler32.Checksum(prefix)
	u := adler32.Checksum(unit)
	for i := 0; i < reps; i++ {
		sum = adlerCombine(sum, u, int64(len(unit)))
	}
	sum = adlerCombine(sum, adler32.Checksum(suffix), int64(len(suffix)))
	_ = binary.Write(&out, binary.BigEndian, sum)
	return out.Bytes()
}

// adlerCombine is the Adler-32 of A then B from theirs and B's length
// (zlib's adler32_combine).
func adlerCombine(a1, a2 uint32, len2 int64) uint32 {
	const base = 65521
	rem := uint64(len2 % base)
	s1 := uint64(a1 & 0xffff)
	s2 := rem * s1 % base
	s1 += uint64(a2&0xffff) + base - 1
	s2 += uint64(a1>>16) + uint64(a2>>16) + base - rem
	s1 %= base
	s2 %= base
	return uint32(s2<<16 | s1)
}
