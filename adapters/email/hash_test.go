package email_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/sectriage/sectriage/adapters/email"
)

// TestHashIsStable pins the deduplication key: stored reports are found
// again by it, so it must not change between versions.
func TestHashIsStable(t *testing.T) {
	team := fuzzTeam(t)
	dec, err := email.NewDecoder(team, nil, fuzzLimits, discard())
	if err != nil {
		t.Fatal(err)
	}
	key, err := team.DeriveSecret("intake dedupe v2")
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"", "Subject: x\r\n\r\nbody\r\n"} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(raw))
		want := "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
		if got, err := dec.Hash([]byte(raw)); err != nil || got != want {
			t.Errorf("Hash(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}
