package storage

import (
	"context"
	"fmt"
	"strings"
)

// WrongKeyError is Unlock's error when no configured team key unwraps the
// data key.
type WrongKeyError struct {
	Path       string
	WrappedTo  string   // the fingerprint of the key the data key is wrapped to
	Configured []string // current, then retired
	Err        error
}

func (e *WrongKeyError) Error() string {
	return fmt.Sprintf("storage: the data key of %s is wrapped to team key %s, and no configured team key opens it (current %s, retired: %s): "+
		"configure key %s as [keys] team_key_file, or, if it was rotated out, under [[keys.retired]] so that it is re-wrapped to the current key (%v)",
		e.Path, e.WrappedTo, e.Configured[0], listOrNone(e.Configured[1:]), e.WrappedTo, e.Err)
}

func (e *WrongKeyError) Unwrap() error { return e.Err }

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// resealLimit bounds a stored copy decrypted for re-sealing: far above
// any [intake] max_message_size.
const resealLimit = 1 << 30

// rewrap wraps dataKey to the current team key in place of its wrapping to
// the retired key from, in one transaction with resealing the stored
// copies of plaintext reports (sealed to the team key of their day) to
// the current key. The data key itself stays the same, so no sealed column
// changes. Afterwards the retired key is needed only for what reporters
// encrypted to it. Should another process have re-wrapped first, this
// changes nothing: both wrapped the same data key.
func (db *DB) rewrap(ctx context.Context, key TeamKey, from string, dataKey []byte, s *sealer) error {
	wrapped, err := key.Encrypt(dataKey)
	if err != nil {
		// The current key cannot be encrypted to (revoked or expired, which
		// `sectriage check` reports): the data key opened, so work on with
		// the old wrapping and re-wrap once a usable key is configured.
		db.log.Error("cannot re-wrap the data key to the current team key; it stays wrapped to the retired one",
			"current", key.Fingerprint(), "retired", from, "err", err)
		return nil
	}
	var resealed, kept int
	rewrapped := false
	err = db.inTx(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE data_keys SET wrapped = ?, team_key = ? WHERE id = 1 AND team_key = ?`,
			wrapped, key.Fingerprint(), from)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		rewrapped = true
		resealed, kept, err = resealReports(ctx, tx, key, s)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: re-wrapping the data key to the current team key %s: %w", key.Fingerprint(), err)
	}
	if rewrapped {
		db.log.Info("re-wrapped the data key from the retired team key to the current one",
			"from", from, "to", key.Fingerprint(), "reports_resealed", resealed, "reports_not_resealed", kept)
	}
	if kept > 0 {
		db.log.Warn("stored copies of reports are sealed to a team key that is not configured; they stay so",
			"reports", kept)
	}
	return nil
}

// resealReports re-encrypts to the current key the stored copies that
// sectriage sealed to a team key (reports that arrived in plaintext). One
// that no configured key opens is left as it is and counted in kept.
func resealReports(ctx context.Context, tx *wtx, key TeamKey, s *sealer) (resealed, kept int, err error) {
	type row struct {
		id     int64
		stored []byte
	}
	var todo []row
	rows, err := tx.QueryContext(ctx, `SELECT id, raw FROM reports WHERE sealed = 1`)
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.stored); err != nil {
			rows.Close()
			return 0, 0, err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	for _, r := range todo {
		c := cell{"reports", "raw", r.id}
		armored, err := s.open(c, r.stored)
		if err != nil {
			return resealed, kept, err
		}
		raw, err := key.DecryptSimple(armored, resealLimit)
		if err != nil {
			kept++
			continue
		}
		again, err := key.Encrypt(raw)
		if err != nil {
			return resealed, kept, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reports SET raw = ? WHERE id = ?`, s.seal(c, again), r.id); err != nil {
			return resealed, kept, err
		}
		resealed++
	}
	return resealed, kept, nil
}
