package gpgtest

import "testing"

// Mails whose signatures cover less than the whole report, or something
// else than its content: what a decoder must not attribute to the signer.

// SignedCiphertext is encrypt-then-sign in MIME: a multipart/signed
// whose signed part is the whole multipart/encrypted entity of m (as a
// signing gateway makes of an already encrypted mail). The signature is
// over the ciphertext: it proves who passed the blob along, not who wrote
// what is inside.
func (g *GPG) SignedCiphertext(t testing.TB, m Mail, recipients []*Key, signer *Key) []byte {
	t.Helper()
	m = m.withDefaults()
	enc := encryptedEntity(g.Encrypt(t, innerEntity(t, m, false).bytes(), recipients, EncryptOptions{}))
	e := g.signedEntity(t, enc, signer)
	e.header = append(outerHeaders(m, m.Subject), e.header...)
	return e.bytes()
}

// SignedCiphertextPGP is encrypt-then-sign in OpenPGP: gpg --encrypt, then
// gpg --sign of that ciphertext, sent as the payload of a PGP/MIME mail.
func (g *GPG) SignedCiphertextPGP(t testing.TB, m Mail, recipients []*Key, signer *Key) []byte {
	t.Helper()
	m = m.withDefaults()
	ct := g.Encrypt(t, innerEntity(t, m, false).bytes(), recipients, EncryptOptions{Binary: true})
	return encryptedEnvelope(m, m.Subject, g.Sign(t, ct, signer, SignOptions{}))
}

// ForwardOptions shape ForwardedMail.
type ForwardOptions struct {
	// Encrypt, when set, sends the forward PGP/MIME-encrypted to these
	// keys, the forwarder's text and the attached original inside.
	Encrypt []*Key
}

// ForwardedMail is m, from the forwarder, with m.Body as their own lines
// and original attached as message/rfc822 ("forward as attachment" in
// Thunderbird and mutt).
func (g *GPG) ForwardedMail(t testing.TB, m Mail, original []byte, opts ForwardOptions) []byte {
	t.Helper()
	m = m.withDefaults()
	att := entity{header: []string{
		"Content-Type: message/rfc822",
		`Content-Disposition: attachment; filename="forwarded.eml"`,
	}, body: original}
	mp := multipart("multipart/mixed", nil, "", textPart(t, m).bytes(), att.bytes())
	if len(opts.Encrypt) > 0 {
		return encryptedEnvelope(m, m.Subject, g.Encrypt(t, mp.bytes(), opts.Encrypt, EncryptOptions{}))
	}
	mp.header = append(outerHeaders(m, m.Subject), mp.header...)
	return mp.bytes()
}
