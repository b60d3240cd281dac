package gpgtest_test

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-1, windows-1252, ISO-2022-JP bodies

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// fixture is one GnuPG home with the team's key (passphrase-protected, as
// the bot's would be) and a reporter's key. Each top-level test makes one
// (about 0.1 s) and shares it with its subtests.
type fixture struct {
	g              *gpgtest.GPG
	team, reporter *gpgtest.Key
}

func setup(t *testing.T) *fixture {
	t.Helper()
	g := gpgtest.New(t)
	return &fixture{
		g:        g,
		team:     g.GenerateKey(t, "Security Team", "security@example.org", gpgtest.KeyOptions{Passphrase: "team passphrase"}),
		reporter: g.GenerateKey(t, "Rita Reporter", "reporter@example.net", gpgtest.KeyOptions{}),
	}
}

// goDecrypt is the cross-check with go-crypto, reading like the bot will:
// the team's armored secret key, UnverifiedBody to EOF, then SignatureError.
func goDecrypt(t *testing.T, msg []byte, team *gpgtest.Key, cfg *packet.Config, signers ...*gpgtest.Key) (*openpgp.MessageDetails, []byte, error) {
	t.Helper()
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(team.SecretKey))
	if err != nil {
		t.Fatalf("go-crypto cannot read gpg's exported secret key: %v", err)
	}
	if team.Passphrase != "" {
		for _, e := range ring {
			if err := e.DecryptPrivateKeys([]byte(team.Passphrase)); err != nil {
				t.Fatalf("go-crypto cannot unlock gpg's secret key: %v", err)
			}
		}
	}
	for _, s := range signers {
		pub, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(s.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		ring = append(ring, pub...)
	}
	var r io.Reader = bytes.NewReader(msg)
	if bytes.HasPrefix(bytes.TrimSpace(msg), []byte("-----BEGIN")) {
		block, err := armor.Decode(r)
		if err != nil {
			return nil, nil, err
		}
		r = block.Body
	}
	md, err := openpgp.ReadMessage(r, ring, nil, cfg)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		return md, body, err
	}
	return md, body, md.SignatureError
}

// checkCRLF fails on any bare LF: mail on the wire uses CRLF.
func checkCRLF(t *testing.T, raw []byte) {
	t.Helper()
	if i := bytes.Index(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")); i >= 0 {
		t.Errorf("bare LF in mail near %q", raw[max(0, i-20):min(len(raw), i+20)])
	}
}

func readMail(t *testing.T, raw []byte) *message.Entity {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message cannot read the mail: %v", err)
	}
	return e
}

// parts returns the decoded children of a multipart entity.
func parts(t *testing.T, e *message.Entity) []*message.Entity {
	t.Helper()
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatalf("not multipart: %s", e.Header.Get("Content-Type"))
	}
	var out []*message.Entity
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading parts: %v", err)
		}
		// Buffer the body: the next NextPart discards an unread one.
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("reading part body: %v", err)
		}
		p.Body = bytes.NewReader(b)
		out = append(out, p)
	}
}

func body(t *testing.T, e *message.Entity) []byte {
	t.Helper()
	b, err := io.ReadAll(e.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return b
}

func mediaType(t *testing.T, e *message.Entity) (string, map[string]string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(e.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", e.Header.Get("Content-Type"), err)
	}
	return mt, params
}

// rawSplit splits a raw multipart entity into its parts' exact bytes, as a
// multipart/signed verifier must (go-message only gives decoded bodies).
func rawSplit(t *testing.T, raw []byte) [][]byte {
	t.Helper()
	e := readMail(t, raw)
	_, params := mediaType(t, e)
	delim := []byte("\r\n--" + params["boundary"])
	chunks := bytes.Split(raw, delim)
	var out [][]byte
	for _, c := range chunks[1 : len(chunks)-1] {
		out = append(out, bytes.TrimPrefix(c, []byte("\r\n")))
	}
	return out
}

// armoredIn returns the first armored block of the given type in text.
func armoredIn(t *testing.T, text []byte, kind string) []byte {
	t.Helper()
	s := string(text)
	i := strings.Index(s, "-----BEGIN "+kind+"-----")
	end := "-----END " + kind + "-----"
	j := strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("no %s block in %q", kind, s)
	}
	return []byte(s[i : j+len(end)])
}

func armorDecode(armored []byte) (io.Reader, error) {
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		return nil, err
	}
	return block.Body, nil
}
