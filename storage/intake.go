package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sectriage/sectriage/bot"
)

var _ bot.IntakeStore = (*DB)(nil)

// KeepReport implements bot.IntakeStore: it stores a report unless one with
// the same content hash exists, whose id it then returns. The Message-ID
// plays no part: the sender chooses it (see SameMessageID).
func (db *DB) KeepReport(ctx context.Context, r bot.KeptReport) (id int64, duplicate bool, err error) {
	var mid any
	if r.MessageID != "" {
		mid = r.MessageID
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM reports WHERE sha256 = ?`, r.Hash).Scan(&id)
		if err == nil {
			duplicate = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO reports(received_at, source, message_id, sha256, raw, sealed) VALUES (?, ?, ?, ?, ?, ?)`,
			r.ReceivedAt.UnixMilli(), r.Source, mid, r.Hash, r.Raw, r.Sealed)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, duplicate, err
}

// SameMessageID implements bot.IntakeStore: the first report stored
// before id under the same Message-ID, or 0.
func (db *DB) SameMessageID(ctx context.Context, id int64) (int64, error) {
	var first sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MIN(o.id) FROM reports r JOIN reports o
		ON o.message_id = r.message_id AND o.id < r.id WHERE r.id = ? AND r.message_id IS NOT NULL`, id).Scan(&first)
	return first.Int64, err
}

// KeptReport implements bot.IntakeStore.
func (db *DB) KeptReport(ctx context.Context, id int64) (*bot.KeptReport, error) {
	r := &bot.KeptReport{ID: id}
	var at int64
	var mid sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT received_at, source, message_id, sha256, raw, sealed FROM reports WHERE id = ?`, id).
		Scan(&at, &r.Source, &mid, &r.Hash, &r.Raw, &r.Sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.Errorf(bot.KindNotFound, "Report %d does not exist.", id)
	}
	if err != nil {
		return nil, err
	}
	r.ReceivedAt, r.MessageID = time.UnixMilli(at).UTC(), mid.String
	return r, nil
}

// ReportOutcome implements bot.IntakeStore.
func (db *DB) ReportOutcome(ctx context.Context, id int64) (bot.ReportOutcome, error) {
	var out bot.ReportOutcome
	var finished, inc, followed, q sql.NullInt64
	var reason sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT finished_at,
		(SELECT id FROM incidents WHERE report_id = r.id),
		(SELECT incident_id FROM followups WHERE report_id = r.id),
		(SELECT id FROM quarantine WHERE report_id = r.id AND released_at IS NULL),
		(SELECT reason FROM quarantine WHERE report_id = r.id AND released_at IS NULL)
		FROM reports r WHERE r.id = ?`, id).Scan(&finished, &inc, &followed, &q, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return out, bot.Errorf(bot.KindNotFound, "Report %d does not exist.", id)
	}
	out.Finished, out.IncidentID, out.QuarantineID, out.QuarantineReason = finished.Valid, inc.Int64, q.Int64, reason.String
	if followed.Valid {
		out.IncidentID, out.FollowUp = followed.Int64, true
	}
	return out, err
}

// FinishReport implements bot.IntakeStore.
func (db *DB) FinishReport(ctx context.Context, id int64, msgs []bot.OutboxMessage, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, m := range msgs {
			if err := enqueue(ctx, tx, m); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE reports SET finished_at = ? WHERE id = ? AND finished_at IS NULL`, at.UnixMilli(), id)
		return err
	})
}

// QuarantineMessage implements bot.IntakeStore.
func (db *DB) QuarantineMessage(ctx context.Context, q *bot.Quarantined, build func(*bot.Quarantined) []bot.OutboxMessage) (id int64, created bool, err error) {
	var report any
	if q.ReportID != 0 {
		report = q.ReportID
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var released sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT id, released_at FROM quarantine WHERE dedupe_key = ? OR (report_id IS NOT NULL AND report_id = ?)`,
			q.DedupeKey, report).Scan(&id, &released)
		switch {
		case err == nil && !released.Valid:
			return nil
		case err == nil:
			// Released by an officer and rejected again: the same entry
			// is back, with the reason of now.
			if _, err := tx.ExecContext(ctx, `UPDATE quarantine SET released_at = NULL, reason = ?, detail = ? WHERE id = ?`,
				q.Reason, q.Detail, id); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		default:
			var res sql.Result
			res, err = tx.ExecContext(ctx, `INSERT INTO quarantine(received_at, source, report_id, dedupe_key, sender, message_id, size, reason, detail)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				q.ReceivedAt.UnixMilli(), q.Source, report, q.DedupeKey, q.Sender, q.MessageID, q.Size, q.Reason, q.Detail)
			if err != nil {
				return err
			}
			if id, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		created = true
		entry := *q
		entry.ID = id
		for _, m := range build(&entry) {
			if err := enqueue(ctx, tx, m); err != nil {
				return err
			}
		}
		if q.ReportID != 0 {
			_, err = tx.ExecContext(ctx, `UPDATE reports SET finished_at = ? WHERE id = ? AND finished_at IS NULL`, q.ReceivedAt.UnixMilli(), q.ReportID)
		}
		return err
	})
	if err == nil && !created && q.ReportID != 0 {
		// The entry exists (a re-delivery); make sure its report counts as finished.
		_, err = db.write.ExecContext(ctx, `UPDATE reports SET finished_at = ? WHERE id = ? AND finished_at IS NULL`, q.ReceivedAt.UnixMilli(), q.ReportID)
	}
	return id, created, err
}

// UnfinishedReports implements bot.IntakeStore.
func (db *DB) UnfinishedReports(ctx context.Context, cutoff time.Time, limit int) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM reports WHERE finished_at IS NULL AND received_at < ? ORDER BY received_at, id LIMIT ?`,
		cutoff.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Quarantine returns the newest quarantine entries, newest first.
func (db *DB) Quarantine(ctx context.Context, limit int) ([]bot.Quarantined, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, received_at, source, COALESCE(report_id, 0), dedupe_key, sender, message_id, size, reason, detail
		FROM quarantine ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.Quarantined
	for rows.Next() {
		var q bot.Quarantined
		var at int64
		if err := rows.Scan(&q.ID, &at, &q.Source, &q.ReportID, &q.DedupeKey, &q.Sender, &q.MessageID, &q.Size, &q.Reason, &q.Detail); err != nil {
			return nil, err
		}
		q.ReceivedAt = time.UnixMilli(at).UTC()
		out = append(out, q)
	}
	return out, rows.Err()
}
