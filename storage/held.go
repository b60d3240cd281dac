package storage

import (
	"context"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// Held messages (migration 0008): refused by the privacy rule, kept with
// the reason until their platform releases them.

// MarkHeld implements bot.OutboxStore.
func (db *DB) MarkHeld(ctx context.Context, id int64, at time.Time, reason string) error {
	// The reason names a channel and its members, never report content;
	// last_error is left to delivery failures.
	_, err := db.write.ExecContext(ctx, `UPDATE outbox SET held_at = ?, held_reason = ?, attempts = attempts + 1 WHERE id = ?`,
		at.UnixMilli(), reason, id)
	return err
}

// ReleaseHeld implements bot.OutboxStore.
func (db *DB) ReleaseHeld(ctx context.Context, f bot.OutboxFilter, now time.Time) error {
	cond, args := platformClause(f)
	_, err := db.write.ExecContext(ctx, `UPDATE outbox SET held_at = NULL, next_attempt_at = ?
		WHERE held_at IS NOT NULL AND delivered_at IS NULL AND dead_at IS NULL`+cond, append([]any{now.UnixMilli()}, args...)...)
	return err
}

// HeldGroup is a number of messages held for the same reason.
type HeldGroup struct {
	Platform, Reason string
	Count            int
	Since            time.Time // when the oldest of them was queued
}

// HeldMessages groups the held messages by platform and reason, for
// `sectriage check`.
func (db *DB) HeldMessages(ctx context.Context) ([]HeldGroup, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT platform, held_reason, COUNT(*), MIN(created_at) FROM outbox
		WHERE held_at IS NOT NULL AND delivered_at IS NULL AND dead_at IS NULL
		GROUP BY platform, held_reason ORDER BY platform, held_reason`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HeldGroup
	for rows.Next() {
		var g HeldGroup
		var since int64
		if err := rows.Scan(&g.Platform, &g.Reason, &g.Count, &since); err != nil {
			return nil, err
		}
		g.Since = time.UnixMilli(since).UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}
