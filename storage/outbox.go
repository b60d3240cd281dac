package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// enqueue inserts msgs (those without an incident id get incidentID, if
// not 0); a message whose dedupe key was used before is dropped silently:
// that ping was already sent or queued.
func (db *DB) enqueue(ctx context.Context, tx *wtx, msgs []bot.OutboxMessage, incidentID int64) error {
	args := tx.rowArgs[:0]
	var defaultIncident any
	if incidentID != 0 {
		defaultIncident = incidentID // boxed once for every row
	}
	var text []byte
	for i := range msgs {
		m := &msgs[i]
		// One post to several platforms shares its Text: marshalled once.
		if i == 0 || !sameText(m.Text, msgs[i-1].Text) {
			var err error
			if text, err = json.Marshal(m.Text); err != nil {
				return err
			}
		}
		id, err := tx.nextID(ctx, "outbox")
		if err != nil {
			return err
		}
		body, err := db.sealText(cell{"outbox", "body", id}, text)
		if err != nil {
			return err
		}
		address, err := db.sealString(cell{"outbox", "address", id}, m.Dest.Address)
		if err != nil {
			return err
		}
		created := m.Created
		if created.IsZero() {
			created = time.Now()
		}
		// Boxed once when equal, as it usually is: each conversion to any
		// is an allocation.
		createdMS := any(created.UnixMilli())
		next := createdMS
		if !m.NextAttempt.IsZero() && !m.NextAttempt.Equal(created) {
			next = m.NextAttempt.UnixMilli()
		}
		incident := defaultIncident
		if m.IncidentID != 0 {
			incident = m.IncidentID
		}
		var dedupe any
		if m.DedupeKey != "" {
			dedupe = m.DedupeKey
		}
		args = append(args, id, createdMS, tx.box(m.Dest.Platform), m.Dest.Channel, m.Dest.Person, address, tx.box(m.Kind), incident,
			body, m.Confidential, dedupe, next)
	}
	tx.rowArgs = args
	if err := tx.insertRows(ctx, insertOutbox, args); err != nil {
		return fmt.Errorf("queueing message: %w", err)
	}
	return nil
}

// sameText reports whether a and b are one Text (the same spans), not
// merely equal ones.
func sameText(a, b bot.Text) bool {
	return len(a.Spans) > 0 && len(a.Spans) == len(b.Spans) && &a.Spans[0] == &b.Spans[0]
}

// Enqueue queues messages outside an incident update (sweeps, intake
// notices) in one transaction.
func (db *DB) Enqueue(ctx context.Context, msgs []bot.OutboxMessage) error {
	return db.inTx(ctx, func(tx *wtx) error {
		return db.enqueue(ctx, tx, msgs, 0)
	})
}

// DueMessages returns every platform's undelivered messages whose next
// attempt is due, oldest first.
func (db *DB) DueMessages(ctx context.Context, now time.Time, limit int) ([]bot.OutboxMessage, error) {
	return db.DueMessagesWhere(ctx, bot.OutboxFilter{}, now, limit)
}

// platformClause is the SQL condition and arguments for f ("" and none
// for all platforms).
func platformClause(f bot.OutboxFilter) (string, []any) {
	if len(f.Platforms) == 0 {
		return "", nil // all of them, or all except none
	}
	args := make([]any, len(f.Platforms))
	for i, p := range f.Platforms {
		args[i] = p
	}
	op := "IN"
	if f.Except {
		op = "NOT IN"
	}
	return " AND platform " + op + " (?" + strings.Repeat(", ?", len(f.Platforms)-1) + ")", args
}

// DueMessagesWhere implements bot.OutboxStore.
func (db *DB) DueMessagesWhere(ctx context.Context, f bot.OutboxFilter, now time.Time, limit int) ([]bot.OutboxMessage, error) {
	cond, args := platformClause(f)
	cond = " AND held_at IS NULL" + cond // held messages wait for ReleaseHeld
	rows, err := db.read.QueryContext(ctx, `SELECT id, created_at, platform, channel, person, address, kind,
		COALESCE(incident_id, 0), body, confidential, COALESCE(dedupe_key, ''), attempts, next_attempt_at, last_error, sent_parts
		FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= ?`+cond+`
		ORDER BY id LIMIT ?`, append(append([]any{now.UnixMilli()}, args...), limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.OutboxMessage
	for rows.Next() {
		var m bot.OutboxMessage
		var created, next int64
		var address, sealedBody, lastError []byte
		if err := rows.Scan(&m.ID, &created, &m.Dest.Platform, &m.Dest.Channel, &m.Dest.Person, &address,
			&m.Kind, &m.IncidentID, &sealedBody, &m.Confidential, &m.DedupeKey, &m.Attempts, &next, &lastError, &m.Sent); err != nil {
			return nil, err
		}
		body, err := db.openValue(cell{"outbox", "body", m.ID}, sealedBody)
		if err != nil {
			return nil, fmt.Errorf("outbox message %d: %w", m.ID, err)
		}
		if m.Dest.Address, err = db.openString(cell{"outbox", "address", m.ID}, address); err != nil {
			return nil, fmt.Errorf("outbox message %d: %w", m.ID, err)
		}
		if m.LastError, err = db.openString(cell{"outbox", "last_error", m.ID}, lastError); err != nil {
			return nil, fmt.Errorf("outbox message %d: %w", m.ID, err)
		}
		if err := json.Unmarshal(body, &m.Text); err != nil {
			return nil, fmt.Errorf("outbox message %d: bad body: %w", m.ID, err)
		}
		m.Created, m.NextAttempt = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// MarkDelivered implements bot.OutboxStore.
func (db *DB) MarkDelivered(ctx context.Context, id int64, at time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, held_at = NULL WHERE id = ?`, at.UnixMilli(), id)
	return err
}

var _ bot.SentStore = (*DB)(nil)

// MarkSent implements bot.SentStore. It never lowers the count: an
// attempt that started from an older count cannot undo a newer one.
func (db *DB) MarkSent(ctx context.Context, id int64, sent int) error {
	_, err := db.write.ExecContext(ctx, `UPDATE outbox SET sent_parts = MAX(sent_parts, ?) WHERE id = ?`, sent, id)
	return err
}

// MarkRetry implements bot.OutboxStore.
func (db *DB) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, errText string) error {
	sealed, err := db.sealString(cell{"outbox", "last_error", id}, errText)
	if err != nil {
		return err
	}
	_, err = db.write.ExecContext(ctx, `UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
		attempts, next.UnixMilli(), sealed, id)
	return err
}

// MarkDead implements bot.OutboxStore.
func (db *DB) MarkDead(ctx context.Context, id int64, at time.Time, errText string) error {
	sealed, err := db.sealString(cell{"outbox", "last_error", id}, errText)
	if err != nil {
		return err
	}
	_, err = db.write.ExecContext(ctx, `UPDATE outbox SET dead_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?`,
		at.UnixMilli(), sealed, id)
	return err
}

// DeferPlatform implements bot.DeferrerStore.
func (db *DB) DeferPlatform(ctx context.Context, platform string, until time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = ?
		WHERE platform = ? AND delivered_at IS NULL AND dead_at IS NULL AND held_at IS NULL AND next_attempt_at < ?`,
		until.UnixMilli(), platform, until.UnixMilli())
	return err
}

// ResumePlatform implements bot.ResumerStore.
func (db *DB) ResumePlatform(ctx context.Context, platform string, now time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = ?
		WHERE platform = ? AND delivered_at IS NULL AND dead_at IS NULL AND held_at IS NULL AND next_attempt_at > ?`,
		now.UnixMilli(), platform, now.UnixMilli())
	return err
}

// NextAttempt returns the earliest pending attempt time of any platform,
// or zero if none.
func (db *DB) NextAttempt(ctx context.Context) (time.Time, error) {
	return db.NextAttemptWhere(ctx, bot.OutboxFilter{})
}

// NextAttemptWhere implements bot.OutboxStore.
func (db *DB) NextAttemptWhere(ctx context.Context, f bot.OutboxFilter) (time.Time, error) {
	cond, args := platformClause(f)
	var next sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM outbox
		WHERE delivered_at IS NULL AND dead_at IS NULL AND held_at IS NULL`+cond, args...).Scan(&next)
	return fromMS(next), err
}

// OutboxStats summarises the queue for health checks and metrics.
type OutboxStats struct {
	Pending int
	// PendingByPlatform splits Pending: IRC, paced to a line a second,
	// may be minutes behind while Mattermost is current.
	PendingByPlatform map[string]int
	// Held counts messages kept back by the privacy rule (not in
	// Pending): their destination must be fixed, waiting will not do.
	Held           int
	HeldByPlatform map[string]int
	Dead           int
	OldestPending  time.Time // zero when nothing is pending
	LastDead       time.Time // when the latest message was given up; zero if none
}

// OutboxStats counts pending and dead messages.
func (db *DB) OutboxStats(ctx context.Context) (OutboxStats, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return OutboxStats{}, err
	}
	defer tx.Rollback()
	return outboxStats(ctx, tx)
}

// outboxStats reads pending messages through the outbox_pending index and
// dead ones through outbox_dead: never a scan of every message ever sent.
func outboxStats(ctx context.Context, tx *sql.Tx) (OutboxStats, error) {
	s := OutboxStats{PendingByPlatform: map[string]int{}, HeldByPlatform: map[string]int{}}
	var lastDead sql.NullInt64
	if err := countPending(ctx, tx, &s); err != nil {
		return s, fmt.Errorf("counting pending messages: %w", err)
	}
	if err := countHeld(ctx, tx, &s); err != nil {
		return s, fmt.Errorf("counting held messages: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MAX(dead_at) FROM outbox WHERE dead_at IS NOT NULL`).
		Scan(&s.Dead, &lastDead); err != nil {
		return s, fmt.Errorf("counting dead messages: %w", err)
	}
	s.LastDead = fromMS(lastDead)
	return s, nil
}

// countPending fills in the pending counts, per platform and in all, and
// the oldest pending message, in one pass over the pending index.
func countPending(ctx context.Context, tx *sql.Tx, s *OutboxStats) error {
	rows, err := tx.QueryContext(ctx, `SELECT platform, COUNT(*), MIN(created_at) FROM outbox
		WHERE delivered_at IS NULL AND dead_at IS NULL AND held_at IS NULL GROUP BY platform`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var platform string
		var n int
		var oldest int64
		if err := rows.Scan(&platform, &n, &oldest); err != nil {
			return err
		}
		s.PendingByPlatform[platform] = n
		s.Pending += n
		if at := time.UnixMilli(oldest).UTC(); s.OldestPending.IsZero() || at.Before(s.OldestPending) {
			s.OldestPending = at
		}
	}
	return rows.Err()
}

// countHeld fills in the held counts through the outbox_held index.
func countHeld(ctx context.Context, tx *sql.Tx, s *OutboxStats) error {
	rows, err := tx.QueryContext(ctx, `SELECT platform, COUNT(*) FROM outbox
		WHERE held_at IS NOT NULL AND delivered_at IS NULL AND dead_at IS NULL GROUP BY platform`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var platform string
		var n int
		if err := rows.Scan(&platform, &n); err != nil {
			return err
		}
		s.HeldByPlatform[platform] = n
		s.Held += n
	}
	return rows.Err()
}
