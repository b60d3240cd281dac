package irc

import (
	"strings"
	"testing"
)

func TestParsePin(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	colons := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	for _, in := range []string{hex, colons, "sha256:" + hex, " SHA256:" + colons + " "} {
		if b, err := ParsePin(in); err != nil || len(b) != 32 || b[0] != 0xab {
			t.Errorf("ParsePin(%q) = %x, %v", in, b, err)
		}
	}
	for _, in := range []string{"", "abc", hex + "ab", strings.Repeat("zz", 32)} {
		if _, err := ParsePin(in); err == nil {
			t.Errorf("ParsePin(%q) accepted", in)
		}
	}
}

func TestTLSConfigRefusesBadInput(t *testing.T) {
	if _, err := TLSConfig(TLSOptions{CAPEM: []byte("not a certificate")}); err == nil {
		t.Error("a CA file without PEM certificates was accepted")
	}
	if _, err := TLSConfig(TLSOptions{Pin: "xyz"}); err == nil {
		t.Error("a malformed pin was accepted")
	}
	cfg, err := TLSConfig(TLSOptions{Pin: strings.Repeat("00", 32)})
	if err != nil || cfg.VerifyConnection == nil || !cfg.InsecureSkipVerify {
		t.Errorf("a pin must replace the default verification with its own: %v", err)
	}
	cfg, _ = TLSConfig(TLSOptions{ServerName: "irc.example.org"})
	if cfg.InsecureSkipVerify || cfg.ServerName != "irc.example.org" || cfg.MinVersion == 0 {
		t.Error("without a pin the standard verification must stay on")
	}
}
