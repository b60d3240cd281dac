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
	_, err := db.write.ExecContext(ctx, `INSERT INTO status_tokens(hash, incident_id, created_at) VALUES (?, ?, ?)`,
		hash, incidentID, at.UnixMilli())
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

// AddFollowUp implements bot.StatusStore.
func (db *DB) AddFollowUp(ctx context.Context, f bot.FollowUp) (int64, error) {
	res, err := db.write.ExecContext(ctx, `INSERT INTO followups(incident_id, received_at, source, raw, sealed) VALUES (?, ?, ?, ?, ?)`,
		f.IncidentID, f.ReceivedAt.UnixMilli(), f.Source, f.Raw, f.Sealed)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// CountFollowUps implements bot.StatusStore.
func (db *DB) CountFollowUps(ctx context.Context, incidentID int64) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM followups WHERE incident_id = ?`, incidentID).Scan(&n)
	return n, err
}

// FollowUps implements bot.StatusStore: oldest first.
func (db *DB) FollowUps(ctx context.Context, incidentID int64) ([]bot.FollowUp, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, received_at, source, raw, sealed FROM followups WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.FollowUp
	for rows.Next() {
		f := bot.FollowUp{IncidentID: incidentID}
		var at int64
		if err := rows.Scan(&f.ID, &at, &f.Source, &f.Raw, &f.Sealed); err != nil {
			return nil, err
		}
		f.ReceivedAt = time.UnixMilli(at).UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}
