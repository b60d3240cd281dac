package email

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/header"
	"github.com/sectriage/sectriage/teamkey"
)

// composeInput is what an outgoing mail is made of.
type composeInput struct {
	From, To string
	Incident string // SEC-42, or ""
	Body     string
	Report   *bot.Report // nil when none could be read
	Auto     bool        // an automatic acknowledgement (RFC 3834 Auto-Submitted)
	Now      time.Time
	// MessageID is the mail's own (recorded, for replies); "" makes one.
	MessageID string
	// ReplyTo, when set, is the incident's reply address (with a token).
	ReplyTo string
	// Subject, when set, replaces the reporter's subject line.
	Subject string
	// Key, when set, is the recipient's key (a team member's): used
	// instead of the report's.
	Key *openpgp.Entity
}

// composeMail builds an RFC 5322 message. With a reporter key it is
// PGP/MIME (RFC 3156): the text encrypted to the reporter and signed by the
// team, the subject protected inside. The subject outside names only the
// incident id, never the report's subject.
func composeMail(team *teamkey.Key, in composeInput) (data []byte, encrypted bool, err error) {
	subject := "Your report to the security team"
	if in.Subject != "" {
		subject = in.Subject
	}
	if in.Incident != "" {
		subject = "[" + in.Incident + "] " + subject
	}
	var h header.Mail
	h.Add("From", in.From)
	h.Add("To", in.To)
	h.Add("Subject", subject)
	h.Add("Date", in.Now.Format(time.RFC1123Z))
	if in.MessageID == "" {
		in.MessageID = "<" + randomToken() + "@" + domainOf(in.From) + ">"
	}
	h.Add("Message-ID", in.MessageID)
	if in.ReplyTo != "" {
		h.Add("Reply-To", in.ReplyTo)
	}
	if in.Report != nil {
		// A received Message-ID is copied only when it is one: anything
		// else (control bytes, a line break, junk) is dropped.
		if id := header.MessageID(in.Report.MessageID); id != "" {
			h.Add("In-Reply-To", id)
			h.Add("References", id)
		}
	}
	if in.Auto {
		h.Add("Auto-Submitted", "auto-replied")
	}
	h.Add("MIME-Version", "1.0")

	text := textEntity(in.Body, "")
	var key *openpgp.Entity
	if in.Report != nil && len(in.Report.ReporterKey) > 0 {
		if keys, err := openpgp.ReadKeyRing(bytes.NewReader(in.Report.ReporterKey)); err == nil && len(keys) == 1 {
			if _, ok := keys[0].EncryptionKey(in.Now); ok {
				key = keys[0]
			}
		}
	}
	if in.Key != nil {
		if _, ok := in.Key.EncryptionKey(in.Now); !ok {
			return nil, false, errors.New("the recipient's key has no usable encryption subkey (expired or revoked?)")
		}
		key = in.Key
	}
	if key == nil {
		top, err := h.Bytes()
		if err != nil {
			return nil, false, err
		}
		return append(top, text...), false, nil
	}
	var protected header.Mail
	protected.Add("Subject", subject)
	protected.Add("From", in.From)
	protected.Add("To", in.To)
	inside, err := protected.Bytes()
	if err != nil {
		return nil, false, err
	}
	inner := textEntity(in.Body, string(inside))
	var signer *openpgp.Entity
	if team != nil {
		var err error
		if signer, err = team.Signer(in.Now); err != nil {
			return nil, false, err
		}
	}
	armored, err := teamkey.EncryptTo(inner, key, signer)
	if err != nil {
		return nil, false, err
	}
	boundary := "sectriage-" + randomToken()
	h.Add("Content-Type", fmt.Sprintf("multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n boundary=%q", boundary))
	top, err := h.Bytes()
	if err != nil {
		return nil, false, err
	}
	var b bytes.Buffer
	b.Write(top)
	b.WriteString("\r\n")
	b.WriteString("This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n")
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\nContent-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n", boundary)
	b.Write(canonicalCRLF(armored))
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes(), true, nil
}

// textEntity is a UTF-8 text/plain entity, quoted-printable so that any
// text survives any mail server; protected, when set, are the protected
// headers to carry inside the encryption.
func textEntity(body, protected string) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: text/plain; charset=utf-8")
	if protected != "" {
		b.WriteString(`; protected-headers="v1"`)
	}
	b.WriteString("\r\nContent-Transfer-Encoding: quoted-printable\r\n")
	b.WriteString(protected)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write(canonicalCRLF([]byte(strings.TrimRight(body, "\n") + "\n")))
	_ = qp.Close()
	return b.Bytes()
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return strings.Trim(addr[i+1:], "> ")
	}
	return "sectriage.invalid"
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
