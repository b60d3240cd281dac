package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sectriage/sectriage/bot"
)

var _ bot.QuarantineStore = (*DB)(nil)

// quarantineColumns are read by scanQuarantine. The incident is the one
// the entry's report became after a release.
const quarantineColumns = `q.id, q.received_at, q.source, COALESCE(q.report_id, 0), q.dedupe_key, q.sender, q.message_id,
	q.size, q.reason, q.detail, q.released_at, q.released_by, q.dropped_at, q.dropped_by, q.drop_reason,
	COALESCE((SELECT i.id FROM incidents i WHERE i.report_id = q.report_id), 0)`

// scanQuarantine reads a row of quarantineColumns, opening its sealed
// values.
func (db *DB) scanQuarantine(row interface{ Scan(...any) error }) (bot.Quarantined, error) {
	var q bot.Quarantined
	var at int64
	var released, dropped sql.NullInt64
	var sender, mid, detail, dropReason []byte
	if err := row.Scan(&q.ID, &at, &q.Source, &q.ReportID, &q.DedupeKey, &sender, &mid, &q.Size, &q.Reason, &detail,
		&released, &q.ReleasedBy, &dropped, &q.DroppedBy, &dropReason, &q.IncidentID); err != nil {
		return q, err
	}
	for _, f := range []struct {
		column string
		stored []byte
		into   *string
	}{{"sender", sender, &q.Sender}, {"message_id", mid, &q.MessageID}, {"detail", detail, &q.Detail}, {"drop_reason", dropReason, &q.DropReason}} {
		if f.stored == nil {
			continue // drop_reason of an entry not dropped
		}
		var err error
		if *f.into, err = db.openString(cell{"quarantine", f.column, q.ID}, f.stored); err != nil {
			return q, fmt.Errorf("quarantine entry %d: %w", q.ID, err)
		}
	}
	q.ReceivedAt = time.UnixMilli(at).UTC()
	if released.Valid {
		q.ReleasedAt = time.UnixMilli(released.Int64).UTC()
	} else {
		q.IncidentID = 0 // an incident without a release cannot be this entry's
	}
	if dropped.Valid {
		q.DroppedAt = time.UnixMilli(dropped.Int64).UTC()
	}
	return q, nil
}

// QuarantineList implements bot.QuarantineStore.
func (db *DB) QuarantineList(ctx context.Context, limit int) ([]bot.Quarantined, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+quarantineColumns+` FROM quarantine q ORDER BY q.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.Quarantined
	for rows.Next() {
		q, err := db.scanQuarantine(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// QuarantineEntry implements bot.QuarantineStore.
func (db *DB) QuarantineEntry(ctx context.Context, id int64) (*bot.Quarantined, error) {
	q, err := db.scanQuarantine(db.read.QueryRowContext(ctx, `SELECT `+quarantineColumns+` FROM quarantine q WHERE q.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.Errorf(bot.KindNotFound, "Q-%d does not exist (dropped entries are deleted after the retention period).", id)
	}
	if err != nil {
		return nil, err
	}
	return &q, nil
}

// ReleaseQuarantine implements bot.QuarantineStore.
func (db *DB) ReleaseQuarantine(ctx context.Context, id int64, by string, at time.Time) error {
	return db.inTx(ctx, func(tx *wtx) error {
		var report sql.NullInt64
		err := tx.QueryRowContext(ctx, `UPDATE quarantine SET released_at = ?, released_by = ?
			WHERE id = ? AND released_at IS NULL AND dropped_at IS NULL RETURNING report_id`, at.UnixMilli(), by, id).Scan(&report)
		if errors.Is(err, sql.ErrNoRows) {
			return bot.Errorf(bot.KindConflict, "Q-%d was released or dropped meanwhile.", id)
		}
		if err != nil {
			return err
		}
		if !report.Valid {
			return bot.Errorf(bot.KindConflict, "Q-%d has no stored copy to release.", id)
		}
		_, err = tx.ExecContext(ctx, `UPDATE reports SET finished_at = NULL WHERE id = ?`, report.Int64)
		return err
	})
}

// DropQuarantine implements bot.QuarantineStore.
func (db *DB) DropQuarantine(ctx context.Context, id int64, by, reason string, at time.Time) error {
	sealed, err := db.sealString(cell{"quarantine", "drop_reason", id}, reason)
	if err != nil {
		return err
	}
	res, err := db.write.ExecContext(ctx, `UPDATE quarantine SET dropped_at = ?, dropped_by = ?, drop_reason = ?
		WHERE id = ? AND released_at IS NULL AND dropped_at IS NULL`, at.UnixMilli(), by, sealed, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = bot.Errorf(bot.KindConflict, "Q-%d was released or dropped meanwhile.", id)
		}
		return err
	}
	return nil
}

// PurgeQuarantine implements bot.QuarantineStore: the entries dropped
// before cutoff go, and with them their stored copies (which no incident
// refers to: a dropped entry was never released).
func (db *DB) PurgeQuarantine(ctx context.Context, cutoff time.Time) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, report_id FROM quarantine WHERE dropped_at IS NOT NULL AND dropped_at < ?`, cutoff.UnixMilli())
		if err != nil {
			return err
		}
		var ids, reports []int64
		for rows.Next() {
			var id int64
			var report sql.NullInt64
			if err := rows.Scan(&id, &report); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			if report.Valid {
				reports = append(reports, report.Int64)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM quarantine WHERE id = ?`, id); err != nil {
				return err
			}
		}
		for _, r := range reports {
			if _, err := tx.ExecContext(ctx, `DELETE FROM reports WHERE id = ?
				AND NOT EXISTS (SELECT 1 FROM incidents WHERE report_id = reports.id)`, r); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
