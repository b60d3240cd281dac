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
	MessageID  string
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
	r := &Report{ID: id}
	var at int64
	var mid sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT received_at, source, message_id, sha256, raw FROM reports WHERE id = ?`, id).
		Scan(&at, &r.Source, &mid, &r.SHA256, &r.Raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.Errorf(bot.KindNotFound, "report %d does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	r.ReceivedAt, r.MessageID = time.UnixMilli(at).UTC(), mid.String
	return r, nil
}
