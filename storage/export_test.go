package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// ExecForTest runs raw SQL on the write connection, for tests that check
// what the schema itself refuses.
func (db *DB) ExecForTest(ctx context.Context, q string) error {
	_, err := db.write.ExecContext(ctx, q)
	return err
}

// BulkCreateForBench stores many incidents in one transaction: seeding
// 100,000 incidents one commit at a time would measure fsync, not the
// query under test.
func (db *DB) BulkCreateForBench(ctx context.Context, incs []*bot.Incident) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		cols := strings.TrimPrefix(incidentColumns, "id, ")
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO incidents(`+cols+`) VALUES (`+placeholders(len(strings.Split(cols, ",")))+`)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, inc := range incs {
			vals, err := incidentValues(inc)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, vals...); err != nil {
				return err
			}
		}
		return nil
	})
}

// DumpForTest lists, one sorted line each, the rows a sweep may write:
// incidents (all but when the sweep looks next), events, nags and queued
// messages, for comparing two databases that saw the same history.
func (db *DB) DumpForTest(ctx context.Context) ([]string, error) {
	queries := []string{
		`SELECT 'incident', id, assignee, manager, claimed, state, due_at, due_kind, snoozed_until, embargo_at, updated_at FROM incidents`,
		`SELECT 'event', incident_id, at, actor, kind, details FROM events`,
		`SELECT 'nag', subject, topic, period_at, person, step, incident_id, sent_at FROM nags`,
		`SELECT 'outbox', platform, channel, person, kind, incident_id, body, created_at FROM outbox`,
	}
	var out []string
	for _, q := range queries {
		rows, err := db.read.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, fmt.Sprint(vals...))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}
