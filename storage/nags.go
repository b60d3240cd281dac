package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// SweepIncidents implements bot.NagStore. Each form walks an index: due
// incidents by incidents_next_action, every open one by id, those of SIGs
// and people by their own indexes; so a sweep's reads grow with what it
// selects, not with the number of open incidents.
func (db *DB) SweepIncidents(ctx context.Context, q bot.SweepQuery) ([]*bot.Incident, error) {
	where := []string{`state <> 'closed'`}
	var args []any
	order := ` ORDER BY id`
	switch {
	case !q.Due.IsZero():
		where = append(where, `next_action_at <= ?`)
		args = append(args, q.Due.UnixMilli())
		if q.AfterID != 0 {
			at := q.AfterAt.UnixMilli()
			where = append(where, `(next_action_at > ? OR (next_action_at = ? AND id > ?))`)
			args = append(args, at, at, q.AfterID)
		}
		order = ` ORDER BY next_action_at, id`
	case q.All:
	default:
		var union []string
		if len(q.SIGs) > 0 {
			union = append(union, `SELECT id FROM incidents WHERE state <> 'closed' AND sig IN (`+placeholders(len(q.SIGs))+`)`)
			for _, g := range q.SIGs {
				args = append(args, g)
			}
		}
		if len(q.People) > 0 {
			for _, col := range []string{"assignee", "manager"} {
				union = append(union, `SELECT id FROM incidents WHERE state <> 'closed' AND `+col+` IN (`+placeholders(len(q.People))+`)`)
				for _, p := range q.People {
					args = append(args, p)
				}
			}
		}
		if len(union) == 0 {
			return nil, nil
		}
		where = append(where, `id IN (`+strings.Join(union, ` UNION `)+`)`)
	}
	if q.Due.IsZero() && q.AfterID != 0 {
		where = append(where, `id > ?`)
		args = append(args, q.AfterID)
	}
	query := `SELECT ` + incidentColumns + ` FROM incidents WHERE ` + strings.Join(where, ` AND `) + order
	if q.Limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, q.Limit)
	}
	return db.queryIncidents(ctx, query, args...)
}

// MarkSwept implements bot.NagStore, in one transaction. A mark applies
// only if the columns the sweep's plan depends on are as it read them.
func (db *DB) MarkSwept(ctx context.Context, marks []bot.SweepMark) error {
	if len(marks) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *wtx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE incidents SET next_action_at = ?
			WHERE id = ? AND next_action_at IS ? AND state = ? AND sig = ? AND severity = ? AND assignee = ?
			AND manager = ? AND claimed = ? AND due_at IS ? AND due_kind = ? AND embargo_at IS ? AND snoozed_until IS ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, m := range marks {
			inc := m.Seen
			if _, err := stmt.ExecContext(ctx, ms(m.At), inc.ID, ms(inc.SweepAt), string(inc.State), inc.SIG, string(inc.Severity),
				inc.Assignee, inc.Manager, inc.Claimed, ms(inc.Due), string(inc.DueKind), ms(inc.Embargo), ms(inc.SnoozedUntil)); err != nil {
				return fmt.Errorf("marking incident %d swept: %w", inc.ID, err)
			}
		}
		return nil
	})
}

// NagHistory implements bot.NagStore.
func (db *DB) NagHistory(ctx context.Context, q bot.NagQuery) (bot.NagHistory, error) {
	where := []string{`period_at >= ?`}
	args := []any{q.Since.UnixMilli()}
	if q.Topic != "" {
		where = append(where, `topic = ?`)
		args = append(args, q.Topic)
	}
	if len(q.Subjects) > 0 {
		where = append(where, `subject IN (`+placeholders(len(q.Subjects))+`)`)
		for _, s := range q.Subjects {
			args = append(args, s)
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT subject, topic, period_at, person FROM nags WHERE `+strings.Join(where, ` AND `), args...)
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
	err := db.inTx(ctx, func(tx *wtx) error {
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
