package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sectriage/sectriage/bot"
)

var _ bot.StatusStore = (*DB)(nil)

// AddStatusToken implements bot.StatusStore.
func (db *DB) AddStatusToken(ctx context.Context, hash string, incidentID int64, at time.Time) error {
	return db.inTx(ctx, func(tx *wtx) error {
		return db.addStatusToken(ctx, tx, hash, incidentID, at)
	})
}

// addStatusToken is AddStatusToken inside tx.
func (db *DB) addStatusToken(ctx context.Context, tx *wtx, hash string, incidentID int64, at time.Time) error {
	_, err := tx.exec(ctx, qInsertStatusToken, hash, incidentID, at.UnixMilli())
	return err
}

// StatusToken implements bot.StatusStore.
func (db *DB) StatusToken(ctx context.Context, hash string) (int64, error) {
	var id int64
	err := db.read.QueryRowContext(ctx, `SELECT incident_id FROM status_tokens WHERE hash = ? AND revoked_at IS NULL`, hash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, bot.Errorf(bot.KindNotFound, "No such status link.")
	}
	return id, err
}

// RevokeStatusTokens implements bot.StatusStore.
func (db *DB) RevokeStatusTokens(ctx context.Context, incidentID int64, at time.Time) (int, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE status_tokens SET revoked_at = ? WHERE incident_id = ? AND revoked_at IS NULL`,
		at.UnixMilli(), incidentID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CountFollowUps implements bot.StatusStore.
func (db *DB) CountFollowUps(ctx context.Context, incidentID int64, matchedBy string) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM followups WHERE incident_id = ? AND matched_by = ?`, incidentID, matchedBy).Scan(&n)
	return n, err
}
