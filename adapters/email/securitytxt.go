package email

import (
	"bytes"
	"crypto"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/sectriage/sectriage/teamkey"
)

// SecurityTxtOptions are the fields of an RFC 9116 security.txt.
type SecurityTxtOptions struct {
	Contact            []string
	Expires            time.Time
	Encryption         string
	Canonical          string
	Policy             string
	Acknowledgments    string
	PreferredLanguages []string
	// KeyPath is where the team's public key is served (the Encryption
	// URL's path when it points here), e.g. /pgp-key.asc.
	KeyPath string
}

// SecurityTxt serves /.well-known/security.txt, cleartext-signed with the
// team key (RFC 9116 §2.3), and the team's public key.
type SecurityTxt struct {
	signed  []byte
	key     []byte
	keyPath string
}

// SecurityTxtPath is where RFC 9116 puts the file.
const SecurityTxtPath = "/.well-known/security.txt"

// NewSecurityTxt writes and signs the file once: its content changes only
// with the configuration.
func NewSecurityTxt(opts SecurityTxtOptions, team *teamkey.Key, now time.Time) (*SecurityTxt, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Security contact of this project: how to report a vulnerability (RFC 9116).\n")
	fmt.Fprintf(&b, "# Signed with the security team's OpenPGP key %s.\n", team.Fingerprint())
	for _, c := range opts.Contact {
		fmt.Fprintf(&b, "Contact: %s\n", c)
	}
	fmt.Fprintf(&b, "Expires: %s\n", opts.Expires.UTC().Format("2006-01-02T15:04:05.000Z"))
	for _, f := range []struct{ name, value string }{
		{"Encryption", opts.Encryption}, {"Acknowledgments", opts.Acknowledgments},
		{"Preferred-Languages", strings.Join(opts.PreferredLanguages, ", ")},
		{"Canonical", opts.Canonical}, {"Policy", opts.Policy},
	} {
		if f.value != "" {
			fmt.Fprintf(&b, "%s: %s\n", f.name, f.value)
		}
	}
	signer, err := team.SigningKey(now)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	w, err := clearsign.Encode(&out, signer, &packet.Config{DefaultHash: crypto.SHA256, Time: func() time.Time { return now }})
	if err != nil {
		return nil, fmt.Errorf("signing security.txt: %w", err)
	}
	if _, err := w.Write([]byte(b.String())); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("signing security.txt: %w", err)
	}
	out.WriteByte('\n')
	key, err := team.ArmoredPublic()
	if err != nil {
		return nil, err
	}
	return &SecurityTxt{signed: out.Bytes(), key: key, keyPath: opts.KeyPath}, nil
}

// Text is the signed file.
func (s *SecurityTxt) Text() []byte { return s.signed }

// Register adds the file (also at the legacy /security.txt) and the key.
func (s *SecurityTxt) Register(mux *http.ServeMux) {
	serve := func(body []byte, contentType string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "GET only", http.StatusMethodNotAllowed)
				return
			}
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Header().Set("Access-Control-Allow-Origin", "*")
			if r.Method == http.MethodGet {
				_, _ = w.Write(body)
			}
		}
	}
	mux.Handle(SecurityTxtPath, serve(s.signed, "text/plain; charset=utf-8"))
	mux.Handle("/security.txt", http.RedirectHandler(SecurityTxtPath, http.StatusMovedPermanently))
	if s.keyPath != "" {
		mux.Handle(s.keyPath, serve(s.key, "application/pgp-keys"))
	}
}
