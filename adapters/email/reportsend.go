package email

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/header"
)

// What the report page posts (multipart/form-data, to ReportSendPath or a
// status link): either only "encrypted", an armored OpenPGP message the
// browser made from every field and file (report.js), or, without
// JavaScript, the fields and files themselves, which the pipeline seals
// on arrival. Both become a mail for the same pipeline as everything
// else.

// submission is one post of the report page or a status page.
type submission struct {
	encrypted                                        string
	summary, details, version, email, credit, pubKey string
	files                                            []attachment
}

type attachment struct {
	name string
	data []byte
}

var errCSRF = errors.New("The form has expired or was sent from another site: please reload the page and send it again.")

// pageTooLarge carries a MaxBytesError out of readSubmission.
type pageTooLarge struct{ error }

// readSubmission parses and checks a post. followUp posts have only
// details and attachments.
func (p *ReportPage) readSubmission(w http.ResponseWriter, r *http.Request, followUp bool) (*submission, error) {
	max := p.form.opts.MaxBytes
	if r.ContentLength > max {
		return nil, pageTooLarge{&http.MaxBytesError{Limit: max}}
	}
	r.Body = http.MaxBytesReader(w, r.Body, max)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		// Read it anyway, within the limit: an oversized body is 413
		// whatever it claims to be.
		if err := drain(r); err != nil {
			return nil, err
		}
		return nil, errors.New("send the page's form (multipart/form-data)")
	}
	// Memory above the body's cap: no file is ever spilled to a temporary
	// file, where a plaintext proof of concept would outlive the request.
	if err := r.ParseMultipartForm(max + 1); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, pageTooLarge{err}
		}
		// A broken form may have been given up on before its end: an
		// oversized one is still 413.
		if err := drain(r); err != nil {
			return nil, err
		}
		return nil, errors.New("the form could not be read")
	}
	defer r.MultipartForm.RemoveAll()
	if !p.checkCSRF(r, r.PostFormValue("csrf")) {
		return nil, errCSRF
	}
	s := &submission{encrypted: strings.TrimSpace(r.PostFormValue("encrypted"))}
	if s.encrypted != "" {
		if armorType([]byte(s.encrypted)) != armorMessage {
			return nil, errors.New("the encrypted report is not an armored OpenPGP message")
		}
		return s, nil
	}
	s.details = r.PostFormValue("details")
	if !followUp {
		s.summary, s.version = strings.TrimSpace(r.PostFormValue("summary")), strings.TrimSpace(r.PostFormValue("version"))
		s.email, s.credit = strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("credit"))
		s.pubKey = strings.TrimSpace(r.PostFormValue("public_key"))
	}
	for name, v := range map[string]string{"summary": s.summary, "details": s.details, "affected version": s.version,
		"e-mail address": s.email, "credit": s.credit, "public key": s.pubKey} {
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("the %s is not valid UTF-8", name)
		}
	}
	for name, v := range map[string]string{"summary": s.summary, "affected version": s.version, "credit": s.credit} {
		if header.Check(v) != nil || len(v) > maxFormSubject {
			return nil, fmt.Errorf("the %s must be one line of at most %d bytes", name, maxFormSubject)
		}
	}
	if header.Check(s.email) != nil {
		return nil, errors.New("the e-mail address must be one line, without control characters")
	}
	switch {
	case strings.TrimSpace(s.details) == "":
		return nil, errors.New("the report is empty: fill in the details")
	case !followUp && s.summary == "":
		return nil, errors.New("fill in the summary")
	}
	// The same checks as POST /report: RFC 5321/6531 limits, and UTF-8
	// only when our mail server can send to it.
	if s.email != "" {
		if _, err := header.Address(s.email); err != nil {
			return nil, fmt.Errorf("the e-mail address is not valid (%w); write just the address, e.g. you@example.org", err)
		}
		if a, err := mail.ParseAddress(s.email); err != nil || a.Address != s.email {
			return nil, errors.New("the e-mail address is not valid (write just the address, e.g. you@example.org)")
		}
		if err := p.form.checkAddress(s.email); err != nil {
			return nil, err
		}
	}
	if s.pubKey != "" && armorType([]byte(s.pubKey)) != armorKey {
		return nil, errors.New("the public key must be an ASCII-armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK-----)")
	}
	for _, fh := range r.MultipartForm.File["attachments"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty file input of a form sent without a file
		}
		f, err := fh.Open()
		if err != nil {
			return nil, errors.New("an attachment could not be read")
		}
		var b bytes.Buffer
		_, err = b.ReadFrom(f)
		f.Close()
		if err != nil {
			return nil, errors.New("an attachment could not be read")
		}
		name := fh.Filename
		if !utf8.ValidString(name) || strings.ContainsFunc(name, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			name = "attachment"
		}
		s.files = append(s.files, attachment{name: name, data: b.Bytes()})
	}
	return s, nil
}

// drain reads the rest of a body capped by http.MaxBytesReader; an error
// only when it was over the cap.
func drain(r *http.Request) error {
	_, err := io.Copy(io.Discard, r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return pageTooLarge{err}
	}
	return nil
}

// reportText is the text part of a report sent without JavaScript, laid
// out as report.js lays it out.
func (s *submission) reportText(followUp bool) string {
	if followUp {
		return s.details + "\n"
	}
	or := func(v, none string) string {
		if v == "" {
			return none
		}
		return v
	}
	return "Summary: " + s.summary + "\n" +
		"Affected version: " + or(s.version, "not given") + "\n" +
		"Credit: " + or(s.credit, "no credit") + "\n" +
		"Contact: " + or(s.email, "none given") + "\n\n" + s.details + "\n"
}

// mail makes the message the pipeline reads. A submission sent twice (a
// double click, a reload) makes the same bytes, so intake takes it once:
// the boundary and Message-ID follow from the content, the Date is the
// day. An encrypted one cannot be recognised (each encryption differs)
// and is taken as it comes.
func (p *ReportPage) mail(s *submission, subject string, followUp bool) ([]byte, error) {
	mac := hmac.New(sha256.New, p.form.idKey)
	fmt.Fprintf(mac, "page\x00%t\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", followUp, s.encrypted, s.summary, s.details, s.version, s.email, s.credit, s.pubKey)
	for _, f := range s.files {
		fmt.Fprintf(mac, "\x00%s\x00%d\x00", f.name, len(f.data))
		mac.Write(f.data)
	}
	sum := hex.EncodeToString(mac.Sum(nil))
	boundary := "page-" + sum[40:64]
	// Every header value through package header, like the form's.
	var hd header.Mail
	if s.email != "" {
		hd.Add("From", (&mail.Address{Address: s.email}).String())
	}
	if p.form.opts.To != "" {
		hd.Add("To", p.form.opts.To)
	}
	hd.Add("Subject", mime.QEncoding.Encode("utf-8", subject))
	hd.Add("Date", p.form.opts.Now().UTC().Truncate(24*time.Hour).Format(time.RFC1123Z))
	hd.Add("Message-ID", "<"+sum[:40]+"@"+pageMessageIDDomain+">")
	hd.Add("MIME-Version", "1.0")
	if s.encrypted != "" {
		hd.Add("Content-Type", fmt.Sprintf("multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=%q", boundary))
	} else {
		hd.Add("Content-Type", fmt.Sprintf("multipart/mixed; boundary=%q", boundary))
	}
	top, err := hd.Bytes()
	if err != nil {
		return nil, err // readSubmission checked every field: not reached
	}
	var b bytes.Buffer
	b.Write(top)
	if s.encrypted != "" {
		// RFC 3156 PGP/MIME: stored exactly as received, decrypted by the
		// pipeline like any encrypted mail (the protected headers inside
		// carry the subject and the reporter's address).
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n", boundary)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n", boundary)
		b.Write(canonicalCRLF([]byte(s.encrypted)))
		fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
		return b.Bytes(), nil
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write(canonicalCRLF([]byte(s.reportText(followUp))))
	_ = qp.Close()
	b.WriteString("\r\n")
	if s.pubKey != "" {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pgp-keys\r\nContent-Disposition: attachment; filename=\"public-key.asc\"\r\n\r\n", boundary)
		b.Write(canonicalCRLF([]byte(s.pubKey)))
		b.WriteString("\r\n")
	}
	for _, f := range s.files {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n",
			boundary, extValue(f.name))
		b.Write(base64Body(f.data))
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nil
}

// extValue encodes a file name as an RFC 2231 parameter value: every
// byte but the attribute characters percent-encoded, so no name can end
// the parameter or the header.
func extValue(name string) string {
	var b strings.Builder
	b.WriteString("utf-8''")
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// pageMessageIDDomain is the right side of the Message-IDs the page
// makes: the form's, since a report from the page is a form report, and
// whatever holds for form reports (the mailer's cap on acknowledgements
// per address, keyed on this domain) must hold for it too.
const pageMessageIDDomain = "web-form.sectriage.invalid"

// base64Body is data in base64 lines of 76 characters, CRLF after each.
func base64Body(data []byte) []byte {
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(data)))
	base64.StdEncoding.Encode(enc, data)
	var b bytes.Buffer
	for len(enc) > 76 {
		b.Write(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.Write(enc)
	b.WriteString("\r\n")
	return b.Bytes()
}

func (p *ReportPage) serveSend(w http.ResponseWriter, r *http.Request) {
	h := p.form
	// The form handler's limiter: the page and the API share one limit.
	if ok, retry := h.limiter.allow(clientIP(r, h.opts.TrustedProxies), h.opts.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		p.answer(w, http.StatusTooManyRequests, "Too many reports", "Too many reports from your address; please try again later or send mail.", "", ReportPath)
		return
	}
	s, err := p.readSubmission(w, r, false)
	if p.refused(w, err, ReportPath) {
		return
	}
	subject := s.summary
	if s.encrypted != "" {
		subject = "Encrypted report from the report page"
	}
	raw, err := p.mail(s, subject, false)
	if p.refused(w, err, ReportPath) {
		return
	}
	res, err := h.recv.Receive(r.Context(), bot.Submission{Source: bot.SourceWeb, Raw: raw})
	if err != nil {
		h.log.Error("a report from the page could not be stored", "err", err)
		w.Header().Set("Retry-After", "60")
		p.answer(w, http.StatusServiceUnavailable, "Not stored", "The report could not be stored; please try again in a minute.", "", "")
		return
	}
	if res.IncidentID == 0 {
		p.answer(w, http.StatusAccepted, "Received, not accepted",
			fmt.Sprintf("Your report was received but could not be accepted (%s); the security team will look at it. Reference Q-%d.", res.Reason, res.QuarantineID), "", ReportPath)
		return
	}
	link := res.StatusURL
	if link == "" && p.status != nil && p.status.StatusLinks() {
		// No acknowledgement made one (no address, no mail server, a
		// repeated submission): this answer is the reporter's only copy.
		if link, err = p.status.IssueStatus(r.Context(), res.IncidentID); err != nil {
			p.log.Error("a status link could not be made", "incident", bot.FormatID(res.IncidentID), "err", err)
			link = ""
		}
	}
	p.answer(w, http.StatusCreated, "Thank you", fmt.Sprintf("Thank you. Your report is tracked as %s.", bot.FormatID(res.IncidentID)), link, "")
}

// refused answers a post that cannot be taken; false when err is nil.
func (p *ReportPage) refused(w http.ResponseWriter, err error, back string) bool {
	var tooBig pageTooLarge
	switch {
	case err == nil:
		return false
	case errors.As(err, &tooBig):
		w.Header().Set("Connection", "close")
		p.answer(w, http.StatusRequestEntityTooLarge, "Too large",
			fmt.Sprintf("The report is larger than %s; please leave out large files or send it by mail.", byteSize(p.form.opts.MaxBytes)), "", back)
	case errors.Is(err, errCSRF):
		p.answer(w, http.StatusForbidden, "Please send the form again", err.Error(), "", back)
	default:
		p.answer(w, http.StatusBadRequest, "Not sent", "The report was not sent: "+err.Error()+".", "", back)
	}
	return true
}
