package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/teamkey"
)

// loadTeamKey reads the team key named by [keys] (locked: see teamkey), with the
// retired keys of [[keys.retired]]. The current key must be usable (not
// revoked, not expired: an error wrapping teamkey.ErrUnusable otherwise);
// retired keys need only decrypt.
func loadTeamKey(cfg *config.Config) (*teamkey.Key, error) {
	return loadTeamKeys(cfg, teamkey.Load)
}

// loadTeamKeys is loadTeamKey with the function that loads the current key.
func loadTeamKeys(cfg *config.Config, loadCurrent func(armored, passphrase []byte) (*teamkey.Key, error)) (*teamkey.Key, error) {
	passphrase, err := teamPassphrase(cfg)
	if err != nil {
		return nil, err
	}
	key, err := loadKeyFile(cfg, cfg.Keys.TeamKeyFile, "team key", "[keys] team_key_file", passphrase, loadCurrent)
	if err != nil {
		return nil, err
	}
	var retired []*teamkey.Key
	for i, r := range cfg.Keys.Retired {
		what := fmt.Sprintf("retired team key %s", r.KeyFile)
		option := fmt.Sprintf("[[keys.retired]] %d key_file", i+1)
		p := passphrase
		if r.PassphraseFile != "" {
			s, err := cfg.ReadSecret(r.PassphraseFile, "", what+" passphrase")
			if err != nil {
				return nil, err
			}
			p = []byte(s)
		}
		k, err := loadKeyFile(cfg, r.KeyFile, what, option, p, teamkey.LoadRetired)
		if err != nil {
			return nil, err
		}
		retired = append(retired, k)
	}
	return key.WithRetired(retired...), nil
}

// teamPassphrase is the current key's passphrase, nil when none is
// configured.
func teamPassphrase(cfg *config.Config) ([]byte, error) {
	if cfg.Keys.PassphraseFile == "" && os.Getenv(cfg.Keys.PassphraseEnv) == "" {
		return nil, nil
	}
	p, err := cfg.ReadSecret(cfg.Keys.PassphraseFile, cfg.Keys.PassphraseEnv, "team key passphrase")
	if err != nil {
		return nil, err
	}
	return []byte(p), nil
}

func loadKeyFile(cfg *config.Config, file, what, option string, passphrase []byte,
	load func(armored, passphrase []byte) (*teamkey.Key, error)) (*teamkey.Key, error) {
	armored, err := config.ReadSecretFile(cfg.SecretPath(file))
	if errors.Is(err, config.ErrSecretExposed) {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w (export it with gpg --export-secret-keys --armor KEYID > %s, or fix %s)", what, err, file, option)
	}
	key, err := load(armored, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, file, err)
	}
	// A wrong passphrase shows only when the key is unlocked: name the file.
	name := what
	if !strings.Contains(what, file) {
		name += " " + file
	}
	return key.Named(name), nil
}

// holdMessage is ingest's answer to a current team key that is revoked or
// expired. That is permanent until an operator rotates the key, so
// EX_TEMPFAIL would have the MTA offer the message again and again and at
// last bounce it to the reporter. Instead the message is kept in the
// database as a report not yet processed: its copy is sealed with the data
// key, which the unusable key still unwraps (decryption needs only the
// secret key material). Once the key is rotated, `sectriage run` finishes
// it as it finishes every interrupted report, at start and every few
// minutes, decrypting it with the current or the retired key. It returns
// the report's id, and whether it had been received before.
func holdMessage(ctx context.Context, cfg *config.Config, sub bot.Submission, log *slog.Logger) (id int64, duplicate bool, err error) {
	if sub.Oversized {
		// Only its beginning was kept: holding it would later process a
		// truncated message as if whole.
		return 0, false, fmt.Errorf("the message is larger than [intake] max_message_size and cannot be held")
	}
	key, err := loadTeamKeys(cfg, teamkey.LoadRetired)
	if err != nil {
		return 0, false, err
	}
	db, err := openDatabase(ctx, cfg, key, log)
	if err != nil {
		return 0, false, err
	}
	defer db.Close()
	dec, err := email.NewDecoder(key, nil, intakeLimits(cfg.Intake), log)
	if err != nil {
		return 0, false, err
	}
	env := dec.Envelope(sub.Raw)
	hash, err := dec.Hash(sub.Raw)
	if err != nil {
		return 0, false, err
	}
	// Not Sealed to the team key (nothing is encrypted to an unusable key):
	// the database seals the copy with the data key all the same.
	return db.KeepReport(ctx, bot.KeptReport{
		ReceivedAt: bot.SystemClock{}.Now(), Source: sub.Source, MessageID: env.MessageID,
		Hash: hash, Raw: sub.Raw,
	})
}
