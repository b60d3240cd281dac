package email_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// TestPartMemoChangesOnlyTheCost decodes messages of every shape whose
// parts the decoder remembers, each with a fresh decoder and then, twice
// over, with one decoder whose memo fills and answers: every report must
// be the same. No header from inside the encryption may be remembered.
func TestPartMemoChangesOnlyTheCost(t *testing.T) {
	f := newGPGFixture(t)
	to := []*gpgtest.Key{f.teamG}
	m := gpgtest.Mail{From: "Rita Reporter <reporter@example.net>", Subject: "XSS in login", Body: report}
	// Inside the encryption: a multipart entity whose part carries a
	// marker in its header.
	inner := "Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\n" +
		"Content-Type: text/plain; charset=utf-8; x-marker=inside\r\n\r\nthe report\r\n--in--\r\n"
	msgs := map[string][]byte{
		"combined":     f.g.PGPMIME(t, m, to, gpgtest.MIMEOptions{SignWith: f.reporter}),
		"signed-inner": f.g.PGPMIME(t, m, to, gpgtest.MIMEOptions{SignWith: f.reporter, SignedInner: true, ProtectedHeaders: true}),
		"signed":       f.g.SignedMail(t, m, f.reporter),
		"attachment":   f.g.AttachmentMail(t, m, to, gpgtest.AttachmentOptions{}),
		"marker":       gpgtest.PGPMIMEEnvelope(m, f.g.Encrypt(t, []byte(inner), to, gpgtest.EncryptOptions{})),
	}
	shared, err := email.NewDecoder(f.team, f.known, email.Limits{}, discard())
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for name, raw := range msgs {
			fresh, err := email.NewDecoder(f.team, f.known, email.Limits{}, discard())
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := fresh.Decode(raw)
			got, gotErr := shared.Decode(raw)
			if wantErr != nil || gotErr != nil {
				t.Fatalf("%s: %v / %v", name, wantErr, gotErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, %s: with the memo\n%+v\nwithout\n%+v", round, name, got, want)
			}
			if name == "marker" && !strings.Contains(got.Parts[0].Text, "the report") {
				t.Errorf("marker: %+v", got.Parts)
			}
		}
	}
	held := shared.MemoizedPartHeaders()
	if len(held) < 3 {
		t.Fatalf("the memo holds %d headers: %q", len(held), held)
	}
	for _, h := range held {
		if strings.Contains(h, "x-marker") || strings.Contains(h, "multipart/mixed; boundary=\"in\"") {
			t.Errorf("a header from inside the encryption is remembered: %q", h)
		}
	}
}
