package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sectriage/sectriage/adapters/email"
)

// keyPath is where the team's public key is served: the default
// security.txt Encryption URL.
const keyPath = "/pgp-key.asc"

// intakeHandlers adds the report side of the HTTP listener to mux: the
// report form, the public key and security.txt. Nothing is added without
// a team key: reports could not be read.
func intakeHandlers(mux *http.ServeMux, a *app, trusted []*net.IPNet, utf8Mail func() (offered, known bool), now time.Time) error {
	cfg := a.cfg
	if a.intake == nil {
		return nil
	}
	to := ""
	if cfg.Email.SMTP != nil {
		to = cfg.Email.SMTP.From
	}
	form := email.NewFormHandler(a.intake.intake, email.FormOptions{
		MaxBytes: int64(cfg.Intake.FormMaxSize), RateLimit: cfg.Intake.FormRateLimit,
		RateWindow: cfg.Intake.FormRateWindow.Duration, TrustedProxies: trusted, To: to, UTF8Addresses: utf8Mail,
	}, a.log)
	mux.Handle("/report", form)
	if err := reportPage(mux, a, form); err != nil {
		return err
	}
	st := cfg.SecurityTxt
	if st == nil {
		key, err := a.intake.key.ArmoredPublic()
		if err != nil {
			return err
		}
		mux.HandleFunc(keyPath, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/pgp-keys")
			_, _ = w.Write(key)
		})
		return nil
	}
	expires, err := st.ExpiresTime()
	if err != nil {
		return fmt.Errorf("security_txt.expires: %w", err)
	}
	opts := email.SecurityTxtOptions{
		Contact: st.Contact, Expires: expires, Encryption: st.Encryption, Canonical: st.Canonical,
		Policy: st.Policy, Acknowledgments: st.Acknowledgments, PreferredLanguages: st.PreferredLanguages, KeyPath: keyPath,
	}
	if opts.Encryption == "" {
		opts.Encryption = cfg.PublicURL() + keyPath
	}
	if cfg.Publication != nil {
		// The policy page sectriage publishes, unless another is named.
		site, _ := cfg.PublicationSettings("")
		if opts.Policy == "" {
			opts.Policy = site.BaseURL + "/security/"
		}
		if opts.Acknowledgments == "" {
			opts.Acknowledgments = site.BaseURL + "/security/#acknowledgments"
		}
	}
	if opts.Canonical == "" {
		opts.Canonical = cfg.PublicURL() + email.SecurityTxtPath
	}
	if u, err := url.Parse(opts.Encryption); err == nil && u.Path != keyPath && u.Path != "" && sameHost(u, cfg.PublicURL()) {
		opts.KeyPath = u.Path // the configured URL points here: serve the key there
	}
	s, err := email.NewSecurityTxt(opts, a.intake.key, now)
	if err != nil {
		return err
	}
	s.Register(mux)
	if expires.Before(now) {
		a.log.Error("security.txt has expired: update [security_txt] expires", "expires", st.Expires)
	}
	return nil
}

func sameHost(u *url.URL, public string) bool {
	p, err := url.Parse(public)
	return err == nil && p.Host == u.Host
}

// reportPage adds the report page (GET /report, which encrypts in the
// browser), its assets and the reporters' status pages.
func reportPage(mux *http.ServeMux, a *app, form *email.FormHandler) error {
	key, err := a.intake.key.ArmoredPublic()
	if err != nil {
		return err
	}
	keyURL := keyPath
	if st := a.cfg.SecurityTxt; st != nil && st.Encryption != "" {
		keyURL = st.Encryption
	}
	page, err := email.NewReportPage(form, a.intake.intake, email.PageOptions{
		TeamKey: key, Fingerprint: a.intake.key.Fingerprint(), KeyURL: keyURL,
		Secure: strings.HasPrefix(a.cfg.PublicURL(), "https://"),
	}, a.log)
	if err != nil {
		return err
	}
	page.Register(mux)
	return nil
}
