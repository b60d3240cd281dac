package storage

import (
	"context"
	"time"
)

// AcknowledgedSince reports whether the address whose keyed hash is key
// was acknowledged at or after since (email.AckLedger).
func (db *DB) AcknowledgedSince(ctx context.Context, key []byte, since time.Time) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM ack_ledger WHERE address_hmac = ? AND acknowledged_at >= ?`,
		key, since.UnixMilli()).Scan(&n)
	return n > 0, err
}

// RecordAcknowledgement notes an acknowledgement to the address whose
// keyed hash is key, and forgets those older than a week: the cap looks
// back a day, and nothing else needs them.
func (db *DB) RecordAcknowledgement(ctx context.Context, key []byte, at time.Time) error {
	if _, err := db.write.ExecContext(ctx, `INSERT INTO ack_ledger(address_hmac, acknowledged_at) VALUES (?, ?)
		ON CONFLICT(address_hmac) DO UPDATE SET acknowledged_at = MAX(acknowledged_at, excluded.acknowledged_at)`,
		key, at.UnixMilli()); err != nil {
		return err
	}
	_, err := db.write.ExecContext(ctx, `DELETE FROM ack_ledger WHERE acknowledged_at < ?`, at.Add(-7*24*time.Hour).UnixMilli())
	return err
}
