package email

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/header"
)

// Receiver is the intake pipeline as a source sees it.
type Receiver interface {
	Receive(ctx context.Context, sub bot.Submission) (bot.IntakeResult, error)
}

// FormOptions configure the report form.
type FormOptions struct {
	MaxBytes   int64
	RateLimit  int           // submissions per client address...
	RateWindow time.Duration // ...per window
	// TrustedProxies may name the client in X-Forwarded-For.
	TrustedProxies []*net.IPNet
	// To is the address the report is filed as sent to (for routing).
	To string
	// UTF8Addresses says whether acknowledgements can go to an address
	// with UTF-8 in it (the mail server offers SMTPUTF8); known is false
	// before the daemon has talked to the server. nil: no mail is sent,
	// any valid address is taken.
	UTF8Addresses func() (offered, known bool)
	Now           func() time.Time
}

// formMessageIDDomain is the right side of every Message-ID the form
// makes: the mailer knows a form report's acknowledgement by it.
const formMessageIDDomain = "web-form.sectriage.invalid"

// FormHandler is POST /report: a "report a vulnerability" page or API
// posts JSON or a form; the report goes through the same pipeline as mail
// and the answer is the incident id.
type FormHandler struct {
	recv    Receiver
	opts    FormOptions
	limiter *rateLimiter
	idKey   []byte // keys the Message-ID that makes a double submission one incident
	log     *slog.Logger
}

// NewFormHandler makes the handler.
func NewFormHandler(recv Receiver, opts FormOptions, log *slog.Logger) *FormHandler {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &FormHandler{recv: recv, opts: opts, limiter: newRateLimiter(opts.RateLimit, opts.RateWindow), idKey: key,
		log: log.With("adapter", "form")}
}

// formReport is what the form sends. Body may be an armored OpenPGP
// message encrypted in the browser; PublicKey is the reporter's key.
type formReport struct {
	Email     string `json:"email"`
	Name      string `json:"name"`
	Subject   string `json:"subject"`
	Body      string `json:"body"`
	PublicKey string `json:"public_key"`
}

const (
	maxFormSubject = 200
	maxFormName    = 100
)

func (h *FormHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// No CORS headers: a page elsewhere must not be able to make its
	// visitors' browsers file reports (and acknowledgements to addresses
	// of its choosing) here. A form on the project's site posts as a
	// plain HTML form, which needs none.
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		h.answer(w, r, http.StatusMethodNotAllowed, "Send the report with POST.", nil)
		return
	}
	client := clientIP(r, h.opts.TrustedProxies)
	if ok, retry := h.limiter.allow(client, h.opts.Now()); !ok {
		_ = header.Set(w.Header(), "Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		h.answer(w, r, http.StatusTooManyRequests, "Too many reports from your address; please try again later or send mail.", nil)
		return
	}
	if r.ContentLength > h.opts.MaxBytes {
		h.answer(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The report is larger than %d bytes; please send it by mail.", h.opts.MaxBytes), nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBytes)
	rep, err := readForm(r)
	if err == nil {
		err = h.checkAddress(rep.Email)
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.answer(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The report is larger than %d bytes; please send it by mail.", h.opts.MaxBytes), nil)
			return
		}
		h.answer(w, r, http.StatusBadRequest, err.Error(), nil)
		return
	}
	raw, err := h.message(rep)
	if err != nil {
		h.answer(w, r, http.StatusBadRequest, "The report could not be made into a message: "+err.Error(), nil)
		return
	}
	res, err := h.recv.Receive(r.Context(), bot.Submission{Source: bot.SourceWeb, Raw: raw})
	if err != nil {
		h.log.Error("a form report could not be stored", "err", err)
		_ = header.Set(w.Header(), "Retry-After", "60")
		h.answer(w, r, http.StatusServiceUnavailable, "The report could not be stored; please try again in a minute.", nil)
		return
	}
	if res.IncidentID != 0 {
		h.answer(w, r, http.StatusCreated, fmt.Sprintf("Thank you. Your report is tracked as %s.", bot.FormatID(res.IncidentID)),
			map[string]any{"incident": bot.FormatID(res.IncidentID), "id": res.IncidentID, "duplicate": res.Duplicate})
		return
	}
	h.answer(w, r, http.StatusAccepted, fmt.Sprintf("Your report was received but could not be accepted (%s); the security team will look at it. Reference Q-%d.", res.Reason, res.QuarantineID),
		map[string]any{"status": "quarantined", "reference": fmt.Sprintf("Q-%d", res.QuarantineID), "reason": res.Reason})
}

// readForm reads and checks JSON or form fields. Header values must be one
// line: they become header fields of the message.
func readForm(r *http.Request) (formReport, error) {
	var rep formReport
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rep); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return rep, err
			}
			return rep, errors.New("the JSON is not a report: expected {\"email\", \"name\", \"subject\", \"body\", \"public_key\"}")
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		var err error
		if mt == "multipart/form-data" {
			err = r.ParseMultipartForm(1 << 20)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return rep, err
			}
			return rep, errors.New("the form could not be read")
		}
		rep = formReport{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Subject: r.PostFormValue("subject"),
			Body: r.PostFormValue("body"), PublicKey: r.PostFormValue("public_key")}
	default:
		// Read it anyway (within the limit): an oversized body is 413
		// whatever it claims to be.
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return rep, err
		}
		return rep, errors.New("send application/json or a form (application/x-www-form-urlencoded or multipart/form-data)")
	}
	rep.Email, rep.Name, rep.Subject = strings.TrimSpace(rep.Email), strings.TrimSpace(rep.Name), strings.TrimSpace(rep.Subject)
	for field, v := range map[string]string{"email": rep.Email, "name": rep.Name, "subject": rep.Subject, "body": rep.Body, "public_key": rep.PublicKey} {
		if !utf8.ValidString(v) {
			return rep, fmt.Errorf("the %s is not valid UTF-8", field)
		}
	}
	switch {
	case strings.TrimSpace(rep.Body) == "":
		return rep, errors.New("the report is empty: fill in body")
	case header.Check(rep.Email) != nil || header.Check(rep.Name) != nil || header.Check(rep.Subject) != nil:
		return rep, errors.New("email, name and subject must be one line each, without control characters")
	case len(rep.Subject) > maxFormSubject:
		return rep, fmt.Errorf("the subject is longer than %d bytes", maxFormSubject)
	case len(rep.Name) > maxFormName:
		return rep, fmt.Errorf("the name is longer than %d bytes", maxFormName)
	}
	if rep.Email != "" {
		if _, err := header.Address(rep.Email); err != nil {
			return rep, fmt.Errorf("the e-mail address is not valid (%w); write just the address, e.g. you@example.org", err)
		}
		if a, err := mail.ParseAddress(rep.Email); err != nil || a.Address != rep.Email {
			return rep, errors.New("the e-mail address is not valid (write just the address, e.g. you@example.org)")
		}
	}
	if rep.PublicKey != "" && armorType([]byte(rep.PublicKey)) != armorKey {
		return rep, errors.New("public_key must be an ASCII-armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK-----)")
	}
	return rep, nil
}

// checkAddress refuses, at submission, an address the acknowledgement
// could not be sent to: one with UTF-8 in it while the mail server does
// not offer SMTPUTF8 (or has not said yet).
func (h *FormHandler) checkAddress(addr string) error {
	if addr == "" || h.opts.UTF8Addresses == nil {
		return nil
	}
	needUTF8, err := header.Address(addr)
	if err != nil || !needUTF8 {
		return err
	}
	switch offered, known := h.opts.UTF8Addresses(); {
	case !known:
		return errors.New("we cannot tell yet whether our mail server can send to an address with non-ASCII characters (SMTPUTF8): please give an ASCII address, or none, or try again later")
	case !offered:
		return errors.New("our mail server cannot send to an address with non-ASCII characters (it does not offer SMTPUTF8): please give an ASCII address, or none")
	}
	return nil
}

// message turns a form report into the mail the pipeline reads. Its bytes
// (the Message-ID too) follow from the content and the day, so the same
// report submitted twice (a double click, a retried request) makes one
// incident.
func (h *FormHandler) message(rep formReport) ([]byte, error) {
	mac := hmac.New(sha256.New, h.idKey)
	fmt.Fprintf(mac, "%s\x00%s\x00%s\x00%s", rep.Email, rep.Subject, rep.Body, rep.PublicKey)
	var hd header.Mail
	if rep.Email != "" {
		hd.Add("From", (&mail.Address{Name: rep.Name, Address: rep.Email}).String())
	}
	if h.opts.To != "" {
		hd.Add("To", h.opts.To)
	}
	subject := rep.Subject
	if subject == "" {
		subject = "Report from the web form"
	}
	hd.Add("Subject", mime.QEncoding.Encode("utf-8", subject))
	// The day only: intake recognises a re-delivery by its bytes alone (a
	// Message-ID proves nothing), so a double click a second later must
	// make the same message.
	hd.Add("Date", h.opts.Now().UTC().Truncate(24*time.Hour).Format(time.RFC1123Z))
	sum := hex.EncodeToString(mac.Sum(nil))
	hd.Add("Message-ID", "<"+sum[:40]+"@"+formMessageIDDomain+">")
	hd.Add("MIME-Version", "1.0")
	boundary := ""
	if rep.PublicKey != "" {
		// From the keyed hash, not random: the same bytes again (and no
		// reporter can guess it to break out of their part).
		boundary = "form-" + sum[40:]
		hd.Add("Content-Type", fmt.Sprintf("multipart/mixed; boundary=%q", boundary))
	}
	top, err := hd.Bytes()
	if err != nil {
		return nil, err // readForm checked every field: not reached
	}
	var b bytes.Buffer
	b.Write(top)
	text := func() {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		qp := quotedprintable.NewWriter(&b)
		_, _ = qp.Write(canonicalCRLF([]byte(rep.Body)))
		_ = qp.Close()
		b.WriteString("\r\n")
	}
	if rep.PublicKey == "" {
		text()
		return b.Bytes(), nil
	}
	fmt.Fprintf(&b, "\r\n--%s\r\n", boundary)
	text()
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pgp-keys\r\nContent-Disposition: attachment; filename=\"public-key.asc\"\r\n\r\n", boundary)
	b.Write(canonicalCRLF([]byte(strings.TrimSpace(rep.PublicKey))))
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes(), nil
}

// answer replies in JSON to API clients and in plain text to browsers:
// never HTML, so nothing in an answer is ever rendered.
func (h *FormHandler) answer(w http.ResponseWriter, r *http.Request, status int, msg string, fields map[string]any) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		if fields == nil {
			fields = map[string]any{}
		}
		fields["message"] = msg
		if status >= 400 {
			fields["error"] = msg
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(fields)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
