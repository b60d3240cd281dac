package publish_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/publish"
)

func TestAnnouncementText(t *testing.T) {
	subject, body, err := publish.AnnouncementText(complexAdvisory(t), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[Example security advisory 2026-2] Heap overflow and path traversal in archive extraction (CVE-2026-10002, CVE-2026-10003)"; subject != want {
		t.Errorf("subject = %q, want %q", subject, want)
	}
	for _, want := range []string{
		"CVE:         CVE-2026-10002, CVE-2026-10003\n",
		"Severity:    critical (CVSS 4.0 base score",
		"Fixed in:    1.4.7, 1.5.2, 3.2.1, 4.0.3\n",
		"Advisory:    https://security.example.org/advisories/2026-2.html\n",
		"- libexample (1.4): 1.4.0 up to, not including, 1.4.7\n",
		"- libexample (2.0): 2.0.0-rc1 and later (no fix yet)\n",
		"- example-py before 3.2.1\n",
		"- patch:\n  https://git.example.org/libexample/commit/" + commitB + "\n",
		"Workarounds\n===========\n\nExtract untrusted archives in a sandbox.\n",
		"- Grace H. (reporter)\n",
		"- CVE-2026-10003 (CVE JSON 5):\n  https://security.example.org/advisories/CVE-2026-10003.json\n",
		"- OSV: https://security.example.org/advisories/x_EXAMPLE-2026-2.json\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("announcement lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Secret Person") {
		t.Error("a credit without consent is in the announcement")
	}
	for i, line := range strings.Split(body, "\n") {
		if n := len([]rune(line)); n > 72 && strings.Contains(strings.TrimSpace(line), " ") {
			t.Errorf("line %d has %d characters: %q", i+1, n, line)
		}
		if strings.TrimRight(line, " \t") != line {
			t.Errorf("line %d has trailing space: %q", i+1, line)
		}
	}
}

// TestAnnouncementVerifiesWithGPG signs with go-crypto and checks the
// result with real gpg, as a list subscriber would.
func TestAnnouncementVerifiesWithGPG(t *testing.T) {
	g := gpgtest.New(t)
	team := g.GenerateKey(t, "Example Security Team", "security@example.org", gpgtest.KeyOptions{Passphrase: "pw"})
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(team.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	key := ring[0]
	now := time.Now()

	if _, err := publish.SignAnnouncement(simpleAdvisory(t), testSettings, key, now); err == nil {
		t.Fatal("signing with a locked key must fail")
	}
	if err := key.DecryptPrivateKeys([]byte("pw")); err != nil {
		t.Fatal(err)
	}
	for _, a := range allAdvisories(t) {
		mail, err := publish.SignAnnouncement(a, testSettings, key, now)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(mail.Body, []byte("-----BEGIN PGP SIGNED MESSAGE-----\n")) {
			t.Fatalf("%s: not clearsigned:\n%s", a.ID, mail.Body)
		}
		r := g.Run(mail.Body, "--verify")
		if r.Err != nil || !r.Has("GOODSIG") || !r.Has("VALIDSIG "+team.Fingerprint) {
			t.Errorf("%s: gpg --verify: %v %v\n%s", a.ID, r.Err, r.Status, mail.Body)
		}
		// The signed text is the announcement, unchanged.
		out := g.Run(mail.Body, "--decrypt")
		_, text, _ := publish.AnnouncementText(a, testSettings)
		// gpg adds a line break of its own after the signed text.
		if out.Err != nil || strings.TrimRight(string(out.Output), "\n") != strings.TrimRight(text, "\n") {
			t.Errorf("%s: signed text differs from the announcement:\n%q\n%q", a.ID, out.Output, text)
		}
		// A changed word breaks the signature, so the check can fail.
		tampered := bytes.Replace(mail.Body, []byte("Advisory:"), []byte("Advisorz:"), 1)
		if r := g.Run(tampered, "--verify"); r.Err == nil || !r.Has("BADSIG") {
			t.Errorf("%s: gpg accepted a tampered announcement: %v", a.ID, r.Status)
		}
	}
}
