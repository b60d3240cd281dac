package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sectriage/sectriage/bot"
)

var _ bot.ThreadStore = (*DB)(nil)

// RecordSentMail implements bot.ThreadStore. Recording the same
// Message-ID again (a retried delivery) keeps the first record.
func (db *DB) RecordSentMail(ctx context.Context, m bot.SentMail) error {
	var hash any
	if m.ReplyTokenHash != "" {
		hash = m.ReplyTokenHash
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO sent_mail(message_id, incident_id, reply_token_hash, sent_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(message_id) DO NOTHING`, m.MessageID, m.IncidentID, hash, m.SentAt.UnixMilli())
	return err
}

// IncidentByReplyToken implements bot.ThreadStore.
func (db *DB) IncidentByReplyToken(ctx context.Context, hash string) (int64, error) {
	var id int64
	err := db.read.QueryRowContext(ctx, `SELECT incident_id FROM sent_mail WHERE reply_token_hash = ?`, hash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// IncidentByMessageID implements bot.ThreadStore: our mails first, then
// the incident's report, then its follow-ups. A report's Message-ID is the
// sender's choice, so the oldest claim wins (and threading asks for the
// reporter's address besides).
func (db *DB) IncidentByMessageID(ctx context.Context, messageID string) (int64, error) {
	// reports.message_id is Keyed; sent_mail holds our own ids as they are.
	keyed, err := db.keyValue("reports", "message_id", messageID)
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.read.QueryRowContext(ctx, `SELECT incident_id FROM (
		SELECT incident_id, 0 AS rank, 0 AS at FROM sent_mail WHERE message_id = ?
		UNION ALL SELECT i.id, 1, r.id FROM incidents i JOIN reports r ON r.id = i.report_id WHERE r.message_id = ?
		UNION ALL SELECT f.incident_id, 2, r.id FROM followups f JOIN reports r ON r.id = f.report_id WHERE r.message_id = ?
	) ORDER BY rank, at LIMIT 1`, messageID, keyed, keyed).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// AddFollowUp implements bot.ThreadStore.
func (db *DB) AddFollowUp(ctx context.Context, f bot.FollowUp, build func(*bot.Incident) bot.Change) (created bool, err error) {
	err = db.inTx(ctx, func(tx *wtx) error {
		created, err = db.addFollowUp(ctx, tx, f, build)
		return err
	})
	return created, err
}

// addFollowUp is AddFollowUp inside tx.
func (db *DB) addFollowUp(ctx context.Context, tx *wtx, f bot.FollowUp, build func(*bot.Incident) bot.Change) (created bool, err error) {
	var existing int64
	err = tx.queryRow(ctx, qFollowUpOf, f.ReportID).Scan(&existing)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	inc, err := db.scanIncident(tx.queryRow(ctx, qIncidentByID, f.IncidentID))
	if errors.Is(err, sql.ErrNoRows) {
		return false, notFound(f.IncidentID)
	}
	if err != nil {
		return false, err
	}
	if _, err := tx.exec(ctx, qInsertFollowUp, f.ReportID, f.IncidentID, f.MatchedBy, f.ReceivedAt.UnixMilli()); err != nil {
		return false, err
	}
	if err := db.applyChange(ctx, tx, f.IncidentID, build(inc)); err != nil {
		return false, err
	}
	err = db.finishReportRow(ctx, tx, f.ReportID, f.ReceivedAt)
	return err == nil, err
}

// FollowUps implements bot.ThreadStore.
func (db *DB) FollowUps(ctx context.Context, incidentID int64) ([]bot.FollowUp, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT report_id, matched_by, received_at FROM followups WHERE incident_id = ? ORDER BY received_at, report_id`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.FollowUp
	for rows.Next() {
		f := bot.FollowUp{IncidentID: incidentID}
		var at int64
		if err := rows.Scan(&f.ReportID, &f.MatchedBy, &at); err != nil {
			return nil, err
		}
		f.ReceivedAt = time.UnixMilli(at).UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}
