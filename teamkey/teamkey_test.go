package teamkey

import (
	"strings"
	"testing"
	"time"
)

func TestGenerateExportLoadEncryptDecrypt(t *testing.T) {
	k, err := Generate("Demo Security Team", "security@demo.invalid", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	locked, err := k.ArmoredSecret([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(locked, nil); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("loading a locked key without passphrase: %v", err)
	}
	if _, err := Load(locked, []byte("wrong")); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
	loaded, err := Load(locked, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Fingerprint() != k.Fingerprint() {
		t.Fatalf("fingerprint changed: %s vs %s", loaded.Fingerprint(), k.Fingerprint())
	}
	pub, err := k.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(pub, nil); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("loading a public key: %v", err)
	}
	ct, err := k.Encrypt([]byte("canary sentence"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ct), "canary") {
		t.Fatal("ciphertext contains plaintext")
	}
	pt, err := loaded.DecryptSimple(ct, 1<<20)
	if err != nil || string(pt) != "canary sentence" {
		t.Fatalf("decrypt = %q, %v", pt, err)
	}
	if _, err := Load([]byte("garbage"), nil); err == nil {
		t.Fatal("garbage accepted")
	}
}
