package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/header"
	"github.com/sectriage/sectriage/teamkey"
)

// SendAnnouncement mails a clearsigned advisory announcement to a list.
// The text goes quoted-printable, so no relay rewraps or re-encodes a
// signed line: what the subscriber decodes is exactly what was signed.
func (m *Mailer) SendAnnouncement(ctx context.Context, to, subject string, body []byte) error {
	h, utf8, err := m.listHeader(to, subject, "")
	if err != nil {
		return err
	}
	return m.send(ctx, to, utf8, append(h, textEntity(string(body), "")...))
}

// SendEncrypted mails body to a list that takes only encrypted mail (the
// distros list): PGP/MIME, encrypted to the list's key and signed by the
// team, the subject protected inside and generic outside.
func (m *Mailer) SendEncrypted(ctx context.Context, to, subject string, body []byte, key *openpgp.Entity) error {
	if key == nil {
		return errors.New("no key to encrypt to")
	}
	var protected header.Mail
	protected.Add("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject)))
	protected.Add("From", m.opts.From)
	protected.Add("To", to)
	inside, err := protected.Bytes()
	if err != nil {
		return err
	}
	boundary := "sectriage-" + randomToken()
	h, utf8, err := m.listHeader(to, "Embargoed security advisory draft",
		fmt.Sprintf("multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n boundary=%q", boundary))
	if err != nil {
		return err
	}
	inner := textEntity(string(body), string(inside))
	var signer *openpgp.Entity
	if m.team != nil {
		// Unlocks the signing key, which the team key loads without.
		if signer, err = m.team.Signer(m.opts.Now()); err != nil {
			return err
		}
	}
	armored, err := teamkey.EncryptTo(inner, key, signer)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.Write(h)
	b.WriteString("\r\n")
	b.WriteString("This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n")
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\nContent-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n", boundary)
	b.Write(canonicalCRLF(armored))
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return m.send(ctx, to, utf8, b.Bytes())
}

// listHeader is the header of a mail to a list, through the one header
// builder; contentType, when set, ends it (the caller then adds the empty
// line). utf8 says the address needs SMTPUTF8.
func (m *Mailer) listHeader(to, subject, contentType string) (h []byte, utf8 bool, err error) {
	if utf8, err = header.Address(to); err != nil {
		return nil, false, err
	}
	var hm header.Mail
	hm.Add("From", m.opts.From)
	hm.Add("To", to)
	hm.Add("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject)))
	hm.Add("Date", time.Now().Format(time.RFC1123Z))
	hm.Add("Message-ID", "<"+randomToken()+"@"+domainOf(m.opts.From)+">")
	hm.Add("MIME-Version", "1.0")
	if contentType != "" {
		hm.Add("Content-Type", contentType)
	}
	h, err = hm.Bytes()
	return h, utf8, err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
