package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// SweepIncidents implements bot.NagStore: the open incidents whose deadline
// passed, whose embargo is near, which the given people hold, or which
// nobody acknowledged. Partial indexes keep this cheap however many
// incidents are open.
func (db *DB) SweepIncidents(ctx context.Context, q bot.SweepQuery) ([]*bot.Incident, error) {
	var or []string
	var args []any
	if !q.DueBefore.IsZero() {
		or = append(or, `(due_at IS NOT NULL AND due_at <= ?)`)
		args = append(args, q.DueBefore.UnixMilli())
	}
	if !q.EmbargoBefore.IsZero() {
		or = append(or, `(embargo_at IS NOT NULL AND embargo_at <= ?)`)
		args = append(args, q.EmbargoBefore.UnixMilli())
	}
	if len(q.People) > 0 {
		ph := placeholders(len(q.People))
		or = append(or, `assignee IN (`+ph+`) OR manager IN (`+ph+`)`)
		for range 2 {
			for _, p := range q.People {
				args = append(args, p)
			}
		}
	}
	if q.Unacknowledged {
		or = append(or, `(state = 'new' AND claimed = 0)`)
	}
	if len(or) == 0 {
		return nil, nil
	}
	return db.queryIncidents(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE state <> 'closed' AND (`+strings.Join(or, ` OR `)+`) ORDER BY id`, args...)
}

// NagHistory implements bot.NagStore.
func (db *DB) NagHistory(ctx context.Context, since time.Time) (bot.NagHistory, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT subject, topic, period_at, person FROM nags WHERE period_at >= ?`, since.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	h := bot.NagHistory{}
	for rows.Next() {
		var k bot.NagKey
		if err := rows.Scan(&k.Subject, &k.Topic, &k.Period, &k.Person); err != nil {
			return nil, err
		}
		h[k] = struct{}{}
	}
	return h, rows.Err()
}

// RecordNags implements bot.NagStore. A record whose key is already stored
// (another sweep got there first) is skipped with its messages.
func (db *DB) RecordNags(ctx context.Context, records []bot.NagRecord) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO nags(subject, topic, period_at, person, step, incident_id, sent_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range records {
			var incident any
			if r.IncidentID != 0 {
				incident = r.IncidentID
			}
			res, err := stmt.ExecContext(ctx, r.Key.Subject, r.Key.Topic, r.Key.Period, r.Key.Person, string(r.Step), incident, r.At.UnixMilli())
			if err != nil {
				return fmt.Errorf("recording nag: %w", err)
			}
			if added, err := res.RowsAffected(); err != nil || added == 0 {
				continue
			}
			n++
			if err := db.applyChange(ctx, tx, r.IncidentID, bot.Change{Events: r.Events, Outbox: r.Outbox}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// LatestPeriod implements bot.NagStore.
func (db *DB) LatestPeriod(ctx context.Context, topic string) (time.Time, error) {
	var at sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MAX(period_at) FROM nags WHERE topic = ?`, topic).Scan(&at)
	return fromMS(at), err
}
