package email_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/teamkey"
)

// TestInlineBlockInConvertedText: a text part is looked at for OpenPGP
// blocks after its charset is converted. In UTF-16 the armor's ASCII is
// not in the bytes as sent, only in the text.
func TestInlineBlockInConvertedText(t *testing.T) {
	team := fuzzTeam(t)
	dec, err := email.NewDecoder(team, nil, fuzzLimits, discard())
	if err != nil {
		t.Fatal(err)
	}
	block, err := teamkey.EncryptTo([]byte("inline secret"), team.Entity(), nil)
	if err != nil {
		t.Fatal(err)
	}
	text := "before\r\n" + strings.ReplaceAll(string(block), "\n", "\r\n") + "after\r\n"
	var body []byte
	for _, u := range utf16.Encode([]rune(text)) {
		body = binary.LittleEndian.AppendUint16(body, u)
	}
	raw := "From: r@example.net\r\nSubject: s\r\nContent-Type: text/plain; charset=utf-16le\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + string(base64Lines(body)) + "\r\n"
	rep, err := dec.Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Parts) != 3 || rep.Parts[0].Text != "before" || !rep.Parts[1].Encrypted || rep.Parts[2].Text != "after" {
		t.Fatalf("parts: %+v", rep.Parts)
	}
}
