package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

// The pipeline is what every source, the show command and the mailer use.
var (
	_ commands.ReportReader = (*bot.Intake)(nil)
	_ email.Receiver        = (*bot.Intake)(nil)
	_ email.ReportLookup    = (*bot.Intake)(nil)
)

// intakeParts is the report side of the app, built when there is a team
// key: the decoder and the pipeline every source feeds.
type intakeParts struct {
	key     *teamkey.Key
	decoder *email.Decoder
	intake  *bot.Intake
}

// intakeLimits turns [intake] into the decoder's limits.
func intakeLimits(in config.IntakeConfig) email.Limits {
	return email.Limits{
		MaxMessageBytes: int64(in.MaxMessageSize), MaxDecryptedBytes: int64(in.MaxDecryptedSize),
		MaxAttachmentBytes: int64(in.MaxAttachmentSize), MaxAttachments: in.MaxAttachments,
		MaxParts: in.MaxParts, MaxDepth: in.MaxDepth,
	}
}

// buildIntake makes the decoder and the pipeline. Known keys that cannot be
// read are logged and skipped (`sectriage check` reports them as errors):
// one bad file must not stop reports from coming in.
func buildIntake(cfg *config.Config, db *storage.DB, svc *bot.Service, key *teamkey.Key, log *slog.Logger) (*intakeParts, error) {
	known, problems := email.LoadKnownKeys(cfg.Resolve(cfg.Keys.KnownKeysDir))
	for _, p := range problems {
		log.Warn("skipping a known key", "err", p)
	}
	dec, err := email.NewDecoder(key, known, intakeLimits(cfg.Intake), log)
	if err != nil {
		return nil, err
	}
	var own []string
	if s := cfg.Email.SMTP; s != nil {
		own = append(own, s.From)
	}
	if m := cfg.Email.IMAP; m != nil {
		if a, err := mail.ParseAddress(m.Username); err == nil {
			own = append(own, a.Address)
		}
	}
	in := bot.NewIntake(svc, db, dec, dec, nil, log, bot.IntakeOptions{
		MaxMessageBytes:   int64(cfg.Intake.MaxMessageSize),
		RequireEncryption: cfg.Keys.RequireEncryption,
		Acknowledge:       cfg.Intake.Acknowledge,
		OwnAddresses:      own,
		Status:            db,
		StatusURL:         statusURL(cfg),
	})
	return &intakeParts{key: key, decoder: dec, intake: in}, nil
}

// rootCAs reads a PEM file of roots to trust; "" means the system's.
func rootCAs(cfg *config.Config, file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(cfg.Resolve(file))
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", file)
	}
	return pool, nil
}

// newIMAP builds the IMAP source from [email.imap], reading its password.
func newIMAP(cfg *config.Config, recv email.Receiver, log *slog.Logger) (*email.IMAP, error) {
	m := cfg.Email.IMAP
	password, err := cfg.ReadSecret(m.PasswordFile, m.PasswordEnv, "IMAP password")
	if err != nil {
		return nil, err
	}
	roots, err := rootCAs(cfg, m.CAFile)
	if err != nil {
		return nil, fmt.Errorf("email.imap: %w", err)
	}
	return email.NewIMAP(email.IMAPOptions{
		Address: m.Address, TLS: m.TLS, RootCAs: roots, Username: m.Username, Password: password,
		Mailbox: m.Mailbox, DoneMailbox: m.DoneMailbox, QuarantineMailbox: m.QuarantineMailbox,
		PollInterval: m.PollInterval.Duration, MaxMessageBytes: int64(cfg.Intake.MaxMessageSize),
	}, recv, log), nil
}

// newMailer builds the SMTP deliverer from [email.smtp].
func newMailer(cfg *config.Config, parts *intakeParts, db *storage.DB, notSent func(reason string), log *slog.Logger) (*email.Mailer, error) {
	m := cfg.Email.SMTP
	var password string
	if m.Username != "" {
		p, err := cfg.ReadSecret(m.PasswordFile, m.PasswordEnv, "SMTP password")
		if err != nil {
			return nil, err
		}
		password = p
	}
	roots, err := rootCAs(cfg, m.CAFile)
	if err != nil {
		return nil, fmt.Errorf("email.smtp: %w", err)
	}
	members, err := memberKeys(cfg)
	if err != nil {
		return nil, err
	}
	opts := email.SMTPOptions{Address: m.Address, TLS: m.TLS, RootCAs: roots, Username: m.Username, Password: password,
		From: m.From, Timeout: time.Minute, MemberKeys: members, NotSent: notSent}
	if db != nil {
		opts.Ledger = db
	}
	if parts == nil {
		return email.NewMailer(opts, nil, nil, log), nil
	}
	return email.NewMailer(opts, parts.key, parts.intake, log), nil
}

// memberKeys reads the public keys of the people notified by mail
// (notify = "email"). A key that cannot encrypt is an error: their pings
// would otherwise never arrive.
func memberKeys(cfg *config.Config) (map[string]*openpgp.Entity, error) {
	out := map[string]*openpgp.Entity{}
	for _, p := range cfg.People {
		if p.Notify != bot.NotifyEmail {
			continue
		}
		key, err := memberKey(cfg, p.Name, p.KeyFile, time.Now())
		if err != nil {
			return nil, err
		}
		out[p.Name] = key
	}
	return out, nil
}

// memberKey reads one person's public key and makes sure it can encrypt
// at now.
func memberKey(cfg *config.Config, name, keyFile string, now time.Time) (*openpgp.Entity, error) {
	armored, err := os.ReadFile(cfg.Resolve(keyFile))
	if err != nil {
		return nil, fmt.Errorf("people %s: key_file: %w", name, err)
	}
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil || len(keys) != 1 {
		return nil, fmt.Errorf("people %s: key_file %s must hold exactly one armored public key (%v)", name, keyFile, err)
	}
	if _, ok := keys[0].EncryptionKey(now); !ok {
		return nil, fmt.Errorf("people %s: the key in %s cannot encrypt (expired, revoked or no encryption subkey)", name, keyFile)
	}
	return keys[0], nil
}

// resumeInterval is how often the daemon looks for reports whose
// processing was interrupted (a killed `sectriage ingest`).
const resumeInterval = 5 * time.Minute

// runIntake finishes interrupted reports until ctx ends.
func (p *intakeParts) run(ctx context.Context) error { return p.intake.Run(ctx, resumeInterval) }

// statusURL is the base of the reporters' status links ("" without
// [server] public_url: then there are none, since no link could be given).
func statusURL(cfg *config.Config) string {
	if cfg.PublicURL() == "" {
		return ""
	}
	return cfg.PublicURL() + email.StatusPath
}
