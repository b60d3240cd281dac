package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// Report is a message as received (or, for a plaintext submission, as
// encrypted to the team key before storing).
type Report struct {
	ID         int64
	ReceivedAt time.Time
	Source     string
	MessageID  string // empty in a sealed database, which keeps only its keyed hash
	SHA256     string
	Raw        []byte
}

// StoreReport keeps a report durably before anything else happens to it. A
// report already stored (same content hash) is not stored
// again: its id comes back with duplicate set, so a re-delivery makes no
// second incident. Only the same content is the same report: another
// message under a known Message-ID is stored as a report of its own.
func (db *DB) StoreReport(ctx context.Context, source, messageID string, raw []byte, at time.Time) (id int64, duplicate bool, err error) {
	sum := sha256.Sum256(raw)
	return db.KeepReport(ctx, bot.KeptReport{
		ReceivedAt: at, Source: source, MessageID: messageID, Hash: hex.EncodeToString(sum[:]), Raw: raw,
	})
}

// Report returns a stored report.
func (db *DB) Report(ctx context.Context, id int64) (*Report, error) {
	kept, err := db.KeptReport(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Report{ID: id, ReceivedAt: kept.ReceivedAt, Source: kept.Source, MessageID: kept.MessageID,
		SHA256: kept.Hash, Raw: kept.Raw}, nil
}

// ReportByMessageID returns the id of the stored report with messageID
// (0 when none). The column holds a keyed hash in a sealed database, so a
// lookup goes through here, never through SQL on the raw value.
func (db *DB) ReportByMessageID(ctx context.Context, messageID string) (int64, error) {
	mid, err := db.keyValue("reports", "message_id", messageID)
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.read.QueryRowContext(ctx, `SELECT id FROM reports WHERE message_id = ?`, mid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}
