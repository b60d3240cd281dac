package email_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// inOrder fails unless body holds each of want, in this order.
func inOrder(t *testing.T, body string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(body[at:], w)
		if i < 0 {
			t.Fatalf("report lacks %q (in order) after offset %d:\n%s", w, at, body)
		}
		at += i + len(w)
	}
}

// TestSameMessageIDOtherContentIsASecondIncident: a forged mail sent first
// with a genuine report's Message-ID does not swallow the genuine one.
func TestSameMessageIDOtherContentIsASecondIncident(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{known: f.known})
	to := []*gpgtest.Key{f.teamG}
	const mid = "genuine-1234@example.net"
	forged := f.g.PGPMIME(t, gpgtest.Mail{From: "Mallory <mallory@example.net>", MessageID: mid, Subject: "nothing to see",
		Body: "FORGED: please ignore the next mail.\n"}, to, gpgtest.MIMEOptions{})
	genuine := f.g.PGPMIME(t, gpgtest.Mail{From: "Rita Reporter <reporter@example.net>", MessageID: mid, Subject: "RCE in upload",
		Body: "GENUINE: the upload handler runs what it is sent.\n"}, to, gpgtest.MIMEOptions{SignWith: f.reporter})

	first := p.receive(t, bot.SourceIMAP, forged)
	second := p.receive(t, bot.SourceIMAP, genuine)
	if second.Duplicate || second.IncidentID == 0 || second.IncidentID == first.IncidentID {
		t.Fatalf("the genuine report: %+v, want an incident of its own (the forged one is %+v)", second, first)
	}
	if body := p.body(t, second.IncidentID); !strings.Contains(body, "GENUINE: the upload handler") {
		t.Errorf("the second incident shows:\n%s", body)
	}
	events, err := p.db.Events(context.Background(), second.IncidentID)
	if err != nil || len(events) == 0 || !strings.Contains(events[0].Details, "reused the Message-ID of SEC-1 but its content differs") {
		t.Errorf("timeline of the second: %+v %v", events, err)
	}
	// The same bytes again are a re-delivery, each of its own incident.
	for _, tc := range []struct {
		raw []byte
		inc int64
	}{{forged, first.IncidentID}, {genuine, second.IncidentID}} {
		if again := p.receive(t, bot.SourceIMAP, tc.raw); !again.Duplicate || again.IncidentID != tc.inc {
			t.Errorf("re-delivery: %+v, want a duplicate of SEC-%d", again, tc.inc)
		}
	}
}

// TestSignerIsNotTheSender: a known key's valid signature on a mail From
// someone else is shown as verified but flagged, and its key is not the
// reporter's, whichever way the mail was signed.
func TestSignerIsNotTheSender(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{known: f.known})
	to := []*gpgtest.Key{f.teamG}
	eve := gpgtest.Mail{From: "Eve <eve@example.com>", Subject: "signed by Bob", Body: "Eve's text, signed with Rita's key.\n"}
	rita := gpgtest.Mail{From: "Rita Reporter <reporter@example.net>", Subject: "signed by Rita", Body: "Rita's own report.\n"}
	for _, tc := range []struct {
		name string
		raw  func(m gpgtest.Mail) []byte
	}{
		{"signed and encrypted", func(m gpgtest.Mail) []byte {
			return f.g.PGPMIME(t, m, to, gpgtest.MIMEOptions{SignWith: f.reporter})
		}},
		{"multipart/signed inside", func(m gpgtest.Mail) []byte {
			return f.g.PGPMIME(t, m, to, gpgtest.MIMEOptions{SignWith: f.reporter, SignedInner: true})
		}},
		{"signed, not encrypted", func(m gpgtest.Mail) []byte { return f.g.SignedMail(t, m, f.reporter) }},
		{"inline, signed", func(m gpgtest.Mail) []byte {
			return f.g.InlineMail(t, m, to, gpgtest.InlineOptions{Encrypt: gpgtest.EncryptOptions{SignWith: f.reporter}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := p.receive(t, bot.SourcePipe, tc.raw(eve))
			rep, err := p.in.Report(context.Background(), res.IncidentID)
			if err != nil {
				t.Fatal(err)
			}
			if s := rep.Signature; s.Status != bot.SigVerified || !s.FromMismatch || s.Fingerprint != f.reporter.Fingerprint {
				t.Errorf("signature %+v, want verified by Rita's key and flagged", s)
			}
			if rep.ReporterKeyFingerprint != "" || p.incident(t, res.IncidentID).ReporterKey != "" {
				t.Errorf("the signer's key became the reporter's: %q (%s)", rep.ReporterKeyFingerprint, rep.ReporterKeySource)
			}
			inOrder(t, lf(p.body(t, res.IncidentID)), "Signature: verified by "+f.reporter.Fingerprint,
				"NOT the sender: no user id of the key is the From address eve@example.com", "Eve's text")

			// The control: the same, From the key's owner.
			res = p.receive(t, bot.SourcePipe, tc.raw(rita))
			rep, err = p.in.Report(context.Background(), res.IncidentID)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Signature.FromMismatch || rep.ReporterKeyFingerprint != f.reporter.Fingerprint || rep.ReporterKeySource != "verified signer" {
				t.Errorf("Rita's own signed mail: %+v, key %q from %q", rep.Signature, rep.ReporterKeyFingerprint, rep.ReporterKeySource)
			}
			if body := p.body(t, res.IncidentID); strings.Contains(body, "NOT the sender") {
				t.Errorf("flagged wrongly:\n%s", body)
			}
		})
	}
}

// TestForwardedSignedMail: the forwarder's own lines are not under the
// original signer's "verified", and the signer's key is not the
// forwarder's.
func TestForwardedSignedMail(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{known: f.known})
	to := []*gpgtest.Key{f.teamG}
	original := f.g.SignedMail(t, gpgtest.Mail{From: "Rita Reporter <reporter@example.net>", Subject: "bug",
		Body: "ORIGINAL: the API leaks tokens.\n"}, f.reporter)
	sam := gpgtest.Mail{From: "Sam Stranger <sam@example.com>", Subject: "Fwd: bug", Body: "FORWARDER: I think this is serious, add my name to the credits.\n"}
	clear := string(f.g.ClearSign(t, []byte("ORIGINAL: the API leaks tokens.\n"), f.reporter, gpgtest.SignOptions{}))
	inline := sam
	inline.Body = "FORWARDER: see below.\n\n" + clear + "\nFORWARDER-AFTER: thanks.\n"
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"as attachment", f.g.ForwardedMail(t, sam, original, gpgtest.ForwardOptions{})},
		{"as attachment, encrypted", f.g.ForwardedMail(t, sam, original, gpgtest.ForwardOptions{Encrypt: to})},
		{"inline, encrypted", f.g.PGPMIME(t, inline, to, gpgtest.MIMEOptions{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := p.receive(t, bot.SourceIMAP, tc.raw)
			rep, err := p.in.Report(context.Background(), res.IncidentID)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Signature.Status != bot.SigNone {
				t.Errorf("a signature over part of it speaks for the report: %+v", rep.Signature)
			}
			if rep.ReporterKeyFingerprint != "" {
				t.Errorf("reporter key %q from %q", rep.ReporterKeyFingerprint, rep.ReporterKeySource)
			}
			for _, part := range rep.Parts {
				forwarder := strings.Contains(part.Text, "FORWARDER")
				if forwarder == (part.Signature.Status == bot.SigVerified) {
					t.Errorf("part %q carries signature %q", part.Text, part.Signature.Status)
				}
			}
			body := lf(p.body(t, res.IncidentID))
			inOrder(t, body, "Signature: none over the whole report", "[no signature covers this part]", "FORWARDER:",
				"[verified by "+f.reporter.Fingerprint+" (Rita Reporter <reporter@example.net>)", "ORIGINAL: the API leaks tokens.")
			if v, fw := strings.Index(body, "[verified"), strings.Index(body, "FORWARDER:"); v < fw {
				t.Errorf("the forwarder's lines are under the signer's verdict:\n%s", body)
			}
		})
	}
}

// TestSignatureOverCiphertext: encrypt-then-sign, in MIME and in OpenPGP,
// by a known key whose address is even the sender's: the signature proves
// nothing about the content, is not attributed, and says so.
func TestSignatureOverCiphertext(t *testing.T) {
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{known: f.known})
	to := []*gpgtest.Key{f.teamG}
	m := gpgtest.Mail{From: "Rita Reporter <reporter@example.net>", Subject: "re-signed", Body: "CONTENT written by whoever encrypted it.\n"}
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"multipart/signed around multipart/encrypted", f.g.SignedCiphertext(t, m, to, f.reporter)},
		{"gpg --sign of the ciphertext", f.g.SignedCiphertextPGP(t, m, to, f.reporter)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := p.receive(t, bot.SourceIMAP, tc.raw)
			rep, err := p.in.Report(context.Background(), res.IncidentID)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Signature.Status != bot.SigNone || len(rep.Signatures) != 1 || !rep.Signatures[0].OverCiphertext ||
				rep.Signatures[0].Status != bot.SigVerified {
				t.Fatalf("signature %+v, all %+v: want none over the content, one over the ciphertext", rep.Signature, rep.Signatures)
			}
			for _, part := range rep.Parts {
				if part.Signature.Status != bot.SigNone {
					t.Errorf("part %q carries %+v", part.Text, part.Signature)
				}
			}
			if rep.ReporterKeySource == "verified signer" {
				t.Errorf("the reporter key came from a signature over ciphertext")
			}
			body := lf(p.body(t, res.IncidentID))
			inOrder(t, body, "Signature: none over the content",
				"A signature made over the encrypted data, not its content (it proves nothing about who wrote it): verified by "+f.reporter.Fingerprint,
				"Encrypted text:", "CONTENT written by whoever")
			if strings.Contains(body, "Encrypted text: [verified") {
				t.Errorf("the content is shown as signed:\n%s", body)
			}
		})
	}
}
