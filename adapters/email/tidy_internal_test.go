package email

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// tidyTextSpec is what tidyText does, written the obvious way.
func tidyTextSpec(s string) string {
	var out []string
	blank := 0
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if l == "" {
			if blank++; blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// TestTidyTextMatchesSpec checks tidyText, for strings and bytes, against
// the obvious version on text made of every piece that matters: line
// ends of both kinds, trailing blanks, runs of empty lines, white space at
// either end.
func TestTidyTextMatchesSpec(t *testing.T) {
	pieces := []string{"a", "word", " ", "\t", "\r", "\n", "\r\n", "\n\n", "\n \n", "\u00a0", "é", "\v"}
	rng := rand.New(rand.NewPCG(7, 7))
	cases := []string{"", "\n", "x", "x\n", "\n\nx\n\n\ny \n"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		want := tidyTextSpec(s)
		if got := tidyText(s); got != want {
			t.Fatalf("tidyText(%q) = %q, want %q", s, got, want)
		}
		if got := tidyText([]byte(s)); got != want {
			t.Fatalf("tidyText([]byte(%q)) = %q, want %q", s, got, want)
		}
	}
}

func TestHexMatchesFmt(t *testing.T) {
	for _, id := range []uint64{0, 1, 0xabcdef, 1<<64 - 1, 0x04ADBE8D601E4ED4} {
		if got, want := keyIDHex(id), fmt.Sprintf("%016X", id); got != want {
			t.Errorf("keyIDHex(%x) = %s, want %s", id, got, want)
		}
	}
	for _, b := range [][]byte{nil, {0}, {0xff, 0x0a}, []byte("twenty bytes of fp!!")} {
		if got, want := upperHex(b), fmt.Sprintf("%X", b); got != want {
			t.Errorf("upperHex(%x) = %s, want %s", b, got, want)
		}
	}
}

// canonicalCRLFSpec is canonicalCRLF as first written.
func canonicalCRLFSpec(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	var out bytes.Buffer
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out.Write(b)
			break
		}
		out.Write(bytes.TrimSuffix(b[:i], []byte("\r")))
		out.WriteString("\r\n")
		b = b[i+1:]
	}
	return out.Bytes()
}

func TestCanonicalCRLFMatchesSpec(t *testing.T) {
	pieces := []string{"a", "\r", "\n", "\r\n", "\r\r\n", "\n\r"}
	rng := rand.New(rand.NewPCG(5, 5))
	for range 20000 {
		var b []byte
		for range rng.IntN(10) {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		if got, want := canonicalCRLF(b), canonicalCRLFSpec(b); !bytes.Equal(got, want) {
			t.Fatalf("canonicalCRLF(%q) = %q, want %q", b, got, want)
		}
	}
}

// TestReadAllSized reads everything whatever the size guessed, and never
// grows its buffer past the limit.
func TestReadAllSized(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	for _, guess := range []int{0, 1, 100, 999_999, 1_000_000, 2_000_000} {
		b, err := readAllSized(bytes.NewReader(data), math.MaxInt64, guess)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("guess %d: %d bytes, %v", guess, len(b), err)
		}
		for _, limit := range []int64{0, 1, 4096, 333_333, 1_000_000, 5_000_000} {
			b, err := readAllSized(bytes.NewReader(data), limit, guess)
			want := data[:min(limit, int64(len(data)))]
			if err != nil || !bytes.Equal(b, want) {
				t.Fatalf("guess %d, limit %d: %d bytes, %v", guess, limit, len(b), err)
			}
			if c := int64(cap(b)); c > max(int64(guess)+1, limit+512) {
				t.Errorf("guess %d, limit %d: a buffer of %d bytes", guess, limit, c)
			}
		}
	}
}
