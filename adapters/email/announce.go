package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/teamkey"
)

// SendAnnouncement mails a clearsigned advisory announcement to a list.
// The text goes quoted-printable, so no relay rewraps or re-encodes a
// signed line: what the subscriber decodes is exactly what was signed.
func (m *Mailer) SendAnnouncement(ctx context.Context, to, subject string, body []byte) error {
	h, err := m.listHeader(to, subject)
	if err != nil {
		return err
	}
	return m.send(ctx, to, append(h, textEntity(string(body), "")...))
}

// SendEncrypted mails body to a list that takes only encrypted mail (the
// distros list): PGP/MIME, encrypted to the list's key and signed by the
// team, the subject protected inside and generic outside.
func (m *Mailer) SendEncrypted(ctx context.Context, to, subject string, body []byte, key *openpgp.Entity) error {
	if key == nil {
		return errors.New("no key to encrypt to")
	}
	outer := "Embargoed security advisory draft"
	h, err := m.listHeader(to, outer)
	if err != nil {
		return err
	}
	inner := textEntity(string(body), fmt.Sprintf("Subject: %s\r\nFrom: %s\r\nTo: %s\r\n", oneLine(subject), m.opts.From, to))
	var signer *openpgp.Entity
	if m.team != nil {
		signer = m.team.Entity()
	}
	armored, err := teamkey.EncryptTo(inner, key, signer)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.Write(h)
	boundary := "sectriage-" + randomToken()
	fmt.Fprintf(&b, "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n boundary=%q\r\n\r\n", boundary)
	b.WriteString("This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n")
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\nContent-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n", boundary)
	b.Write(canonicalCRLF(armored))
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return m.send(ctx, to, b.Bytes())
}

// listHeader is the header of a mail to a list; the subject is encoded
// for any characters (RFC 2047) on one line.
func (m *Mailer) listHeader(to, subject string) ([]byte, error) {
	if a, err := mail.ParseAddress(to); err != nil || a.Address != to {
		return nil, fmt.Errorf("%q is not a plain mail address", to)
	}
	var h bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&h, "%s: %s\r\n", k, v) }
	header("From", m.opts.From)
	header("To", to)
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject)))
	header("Date", time.Now().Format(time.RFC1123Z))
	header("Message-ID", "<"+randomToken()+"@"+domainOf(m.opts.From)+">")
	header("MIME-Version", "1.0")
	return h.Bytes(), nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
