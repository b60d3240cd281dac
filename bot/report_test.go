package bot

import (
	"strings"
	"testing"
)

// TestReportSignatureClaims: what the rendered report claims for each
// shape of signature, and what it must never claim.
func TestReportSignatureClaims(t *testing.T) {
	rita := Signature{Status: SigVerified, Fingerprint: "F1", Signer: "Rita <rita@x>", Emails: []string{"rita@x"}, From: "rita@x"}
	eve := rita
	eve.From, eve.FromMismatch = "eve@x", true
	overCT := rita
	overCT.OverCiphertext = true
	text := func(s string, sig Signature) ReportPart {
		return ReportPart{Kind: PartText, Encrypted: true, Text: s, Signature: sig}
	}
	cases := []struct {
		name      string
		rep       Report
		want, not []string
	}{
		{"unsigned", Report{Parts: []ReportPart{text("a", Signature{})}},
			[]string{"Signature: unsigned\n"}, []string{"no signature covers"}},
		{"whole, the sender's key", Report{Signature: rita, Signatures: []Signature{rita}, Parts: []ReportPart{text("a", rita)}},
			[]string{"Signature: verified by F1 (Rita <rita@x>), over the whole content", "Encrypted text: [verified by F1"},
			[]string{"NOT the sender", "no signature covers"}},
		{"whole, another's key", Report{Signature: eve, Signatures: []Signature{eve}, Parts: []ReportPart{text("a", eve)}},
			[]string{"Signature: verified by F1 (Rita <rita@x>) — NOT the sender: no user id of the key is the From address eve@x, over the whole content (it does not identify the sender)"},
			nil},
		{"one part of two", Report{Signatures: []Signature{rita}, Parts: []ReportPart{text("mine", Signature{}), text("theirs", rita)}},
			[]string{"Signature: none over the whole report", "Encrypted text: [no signature covers this part]", "mine", "Encrypted text: [verified by F1", "theirs"},
			[]string{"Signature: verified"}},
		{"over the ciphertext", Report{Signatures: []Signature{overCT}, Parts: []ReportPart{text("a", Signature{})}},
			[]string{"Signature: none over the content", "A signature made over the encrypted data, not its content (it proves nothing about who wrote it): verified by F1"},
			[]string{"Signature: verified", "[verified", "no signature covers"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := RenderPlain(tc.rep.Text()) + "\n"
			at := 0
			for _, w := range tc.want {
				i := strings.Index(out[at:], w)
				if i < 0 {
					t.Fatalf("lacks %q (in order):\n%s", w, out)
				}
				at += i + len(w)
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("claims %q:\n%s", n, out)
				}
			}
			if sum := tc.rep.Summary("imap"); strings.Contains(sum, "verified") != strings.Contains(tc.want[0], "Signature: verified") {
				t.Errorf("summary %q disagrees with the report", sum)
			}
		})
	}
}
