package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sectriage/sectriage/bot"
)

var _ bot.IntakeStore = (*DB)(nil)

// KeepReport implements bot.IntakeStore: it stores a report unless one with
// the same content hash exists, whose id it then returns. The Message-ID
// plays no part: the sender chooses it (see SameMessageID).
func (db *DB) KeepReport(ctx context.Context, r bot.KeptReport) (id int64, duplicate bool, err error) {
	mid, err := db.reportMessageID(r.MessageID)
	if err != nil {
		return 0, false, err
	}
	err = db.inTx(ctx, func(tx *wtx) error {
		id, duplicate, err = db.keepReport(ctx, tx, r, mid)
		return err
	})
	return id, duplicate, err
}

// keepReport is KeepReport inside tx; mid is the Message-ID as stored.
// In a report transaction the report is stored finished (see
// wtx.keptFinished).
func (db *DB) keepReport(ctx context.Context, tx *wtx, r bot.KeptReport, mid any) (id int64, duplicate bool, err error) {
	var found, sameMessageID sql.NullInt64
	if err := tx.reportByHash(ctx, r.Hash, mid, &found, &sameMessageID); err != nil {
		return 0, false, err
	}
	if found.Valid {
		return found.Int64, true, nil
	}
	if id, err = tx.nextID(ctx, "reports"); err != nil {
		return 0, false, err
	}
	tx.kept, tx.keptSameMessageID = id, sameMessageID.Int64
	raw, err := db.sealValue(cell{"reports", "raw", id}, r.Raw)
	if err != nil {
		return 0, false, err
	}
	var finished any
	if tx.reportOutcome {
		if err := tx.unfinishKept(ctx); err != nil { // a second report in one transaction
			return 0, false, err
		}
		finished, tx.keptFinished = r.ReceivedAt.UnixMilli(), id
	}
	_, err = tx.exec(ctx, qInsertReport, id, r.ReceivedAt.UnixMilli(), r.Source, mid, r.Hash, raw, r.Sealed, finished)
	return id, false, err
}

// finishReportRow marks report id finished at at, unless tx stored it
// finished already.
func (db *DB) finishReportRow(ctx context.Context, tx *wtx, id int64, at time.Time) error {
	if tx.keptFinished == id {
		tx.keptFinished = 0 // and so it stays
		return nil
	}
	_, err := tx.exec(ctx, qFinishReport, at.UnixMilli(), id)
	return err
}

// reportMessageID is what KeepReport stores for a Message-ID.
func (db *DB) reportMessageID(messageID string) (any, error) {
	if messageID == "" {
		return nil, nil
	}
	return db.keyValue("reports", "message_id", messageID)
}

// SameMessageID implements bot.IntakeStore: the first report stored
// before id under the same Message-ID, or 0.
func (db *DB) SameMessageID(ctx context.Context, id int64) (int64, error) {
	var first sql.NullInt64
	err := db.read.QueryRowContext(ctx, qSameMessageID, id).Scan(&first)
	return first.Int64, err
}

// KeptReport implements bot.IntakeStore. In a sealed database the
// Message-ID is kept only as a keyed hash, so MessageID is empty: intake
// reads it again from the message.
func (db *DB) KeptReport(ctx context.Context, id int64) (*bot.KeptReport, error) {
	r := &bot.KeptReport{ID: id}
	var at int64
	var mid sql.NullString
	var raw []byte
	err := db.read.QueryRowContext(ctx, `SELECT received_at, source, message_id, sha256, raw, sealed FROM reports WHERE id = ?`, id).
		Scan(&at, &r.Source, &mid, &r.Hash, &raw, &r.Sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.Errorf(bot.KindNotFound, "Report %d does not exist.", id)
	}
	if err != nil {
		return nil, err
	}
	if r.Raw, err = db.openValue(cell{"reports", "raw", id}, raw); err != nil {
		return nil, fmt.Errorf("report %d: %w", id, err)
	}
	r.ReceivedAt = time.UnixMilli(at).UTC()
	if !db.keyed {
		r.MessageID = mid.String
	}
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
	return db.inTx(ctx, func(tx *wtx) error {
		return db.finishReport(ctx, tx, id, msgs, at)
	})
}

func (db *DB) finishReport(ctx context.Context, tx *wtx, id int64, msgs []bot.OutboxMessage, at time.Time) error {
	if err := db.enqueue(ctx, tx, msgs, 0); err != nil {
		return err
	}
	return db.finishReportRow(ctx, tx, id, at)
}

// QuarantineMessage implements bot.IntakeStore.
func (db *DB) QuarantineMessage(ctx context.Context, q *bot.Quarantined, build func(*bot.Quarantined) []bot.OutboxMessage) (id int64, created bool, err error) {
	err = db.inTx(ctx, func(tx *wtx) error {
		id, created, err = db.quarantineMessage(ctx, tx, q, build)
		return err
	})
	return id, created, err
}

func (db *DB) quarantineMessage(ctx context.Context, tx *wtx, q *bot.Quarantined, build func(*bot.Quarantined) []bot.OutboxMessage) (id int64, created bool, err error) {
	var report any
	if q.ReportID != 0 {
		report = q.ReportID
	}
	dedupe, err := db.keyValue("quarantine", "dedupe_key", q.DedupeKey)
	if err != nil {
		return 0, false, err
	}
	var released sql.NullInt64
	err = tx.queryRow(ctx, qQuarantineByKey, dedupe, report).Scan(&id, &released)
	switch {
	case err == nil && !released.Valid:
		// The entry exists (a re-delivery); make sure its report counts as finished.
		if q.ReportID != 0 {
			err = db.finishReportRow(ctx, tx, q.ReportID, q.ReceivedAt)
		}
		return id, false, err
	case err == nil:
		// Released by an officer and rejected again: the same entry
		// is back, with the reason of now.
		detail, err := db.sealString(cell{"quarantine", "detail", id}, q.Detail)
		if err != nil {
			return 0, false, err
		}
		if _, err := tx.exec(ctx, qRequarantine, q.Reason, detail, id); err != nil {
			return 0, false, err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return 0, false, err
	default:
		if id, err = tx.nextID(ctx, "quarantine"); err != nil {
			return 0, false, err
		}
		var sealed [3]any
		for i, f := range []struct{ column, value string }{{"sender", q.Sender}, {"message_id", q.MessageID}, {"detail", q.Detail}} {
			if sealed[i], err = db.sealString(cell{"quarantine", f.column, id}, f.value); err != nil {
				return 0, false, err
			}
		}
		if _, err := tx.exec(ctx, qInsertQuarantine,
			id, q.ReceivedAt.UnixMilli(), q.Source, report, dedupe, sealed[0], sealed[1], q.Size, q.Reason, sealed[2]); err != nil {
			return 0, false, err
		}
	}
	entry := *q
	entry.ID = id
	if err := db.enqueue(ctx, tx, build(&entry), 0); err != nil {
		return 0, false, err
	}
	if q.ReportID != 0 {
		err = db.finishReportRow(ctx, tx, q.ReportID, q.ReceivedAt)
	}
	return id, true, err
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

// Quarantine returns the newest quarantine entries, newest first. In a
// sealed database DedupeKey is the keyed hash that is stored.
func (db *DB) Quarantine(ctx context.Context, limit int) ([]bot.Quarantined, error) {
	return db.QuarantineList(ctx, limit)
}
