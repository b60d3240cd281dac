package bot

import (
	"strings"
	"testing"
)

// TestThreadReplyToken: tokens carry 128 random bits, survive the reply
// address both ways (any case, any display name, an existing plus tag
// replaced), and only token-shaped tags are read back as tokens.
func TestThreadReplyToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash := NewReplyToken()
		if len(tok) != 26 || seen[tok] || hash != HashReplyToken(strings.ToUpper(tok)) || strings.Contains(hash, tok) {
			t.Fatalf("token %q hash %q", tok, hash)
		}
		seen[tok] = true
		for _, base := range []string{"security@example.org", "Security Team <security@example.org>", "security+core@example.org"} {
			addr, err := ReplyAddress(base, tok)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(addr, "security+"+tok+"@example.org") {
				t.Errorf("ReplyAddress(%q) = %q", base, addr)
			}
			plain := strings.Trim(addr[strings.LastIndexByte(addr, ' ')+1:], "<>")
			if got := replyToken(strings.ToUpper(plain)); HashReplyToken(got) != hash {
				t.Errorf("replyToken(%q) = %q, want %q", plain, got, tok)
			}
		}
	}
	for _, addr := range []string{"security@example.org", "security+core@example.org", "security+" + strings.Repeat("1", 26) + "@example.org",
		"security+" + strings.Repeat("a", 27) + "@example.org", "+" + strings.Repeat("a", 26)} {
		if got := replyToken(addr); got != "" {
			t.Errorf("replyToken(%q) = %q, want none", addr, got)
		}
	}
}

// TestQuarantineIDs: the references people are handed parse, and an
// incident id refuses them with a pointer to the desk.
func TestQuarantineIDs(t *testing.T) {
	for in, want := range map[string]int64{"Q-7": 7, "q-12": 12, "7": 7, " Q-3 ": 3} {
		if got, err := ParseQuarantineID(in); err != nil || got != want {
			t.Errorf("ParseQuarantineID(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"Q-", "Q-0", "Q-+1", "SEC-1", "Q-x"} {
		if _, err := ParseQuarantineID(in); err == nil {
			t.Errorf("ParseQuarantineID(%q) accepted", in)
		}
	}
	if _, err := ParseIncidentID("Q-1"); err == nil || !strings.Contains(err.Error(), "quarantine show Q-1") {
		t.Errorf("ParseIncidentID(Q-1): %v", err)
	}
}
