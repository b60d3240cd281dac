package storage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

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
	return db.inTx(ctx, func(tx *wtx) error {
		n := len(strings.Split(incidentColumns, ","))
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO incidents(`+incidentColumns+`) VALUES (`+placeholders(n)+`)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		next, err := tx.nextID(ctx, "incidents")
		if err != nil {
			return err
		}
		for _, inc := range incs {
			inc.ID, next = next, next+1
			vals, err := db.incidentValues(nil, []any{inc.ID}, inc)
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

// DumpForTest lists, one sorted line each, what a sweep may write:
// incidents (all but when the sweep looks next), their events, the nags
// and the queued messages, for comparing two databases that saw the same
// history. Events and messages are read through the store's own read
// paths, so values kept sealed at rest compare as what they say.
func (db *DB) DumpForTest(ctx context.Context) ([]string, error) {
	var out []string
	incidents, err := db.ListIncidents(ctx, bot.IncidentFilter{})
	if err != nil {
		return nil, err
	}
	for _, inc := range incidents {
		out = append(out, fmt.Sprintf("incident %d %s %s %v %s %s %s %s %s %s", inc.ID, inc.Assignee, inc.Manager, inc.Claimed,
			inc.State, inc.Due, inc.DueKind, inc.SnoozedUntil, inc.Embargo, inc.Updated))
		events, err := db.Events(ctx, inc.ID)
		if err != nil {
			return nil, err
		}
		for _, ev := range events {
			out = append(out, fmt.Sprintf("event %d %s %s %s %s", ev.IncidentID, ev.At, ev.Actor, ev.Kind, ev.Details))
		}
	}
	msgs, err := db.DueMessagesWhere(ctx, bot.OutboxFilter{}, time.Now().AddDate(100, 0, 0), 1<<30)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		out = append(out, fmt.Sprintf("outbox %+v %s %d %s %s", m.Dest, m.Kind, m.IncidentID, bot.RenderPlain(m.Text), m.Created))
	}
	rows, err := db.read.QueryContext(ctx, `SELECT subject, topic, period_at, person, step, COALESCE(incident_id, 0), sent_at FROM nags`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var subject, period, incident, sent int64
		var topic, person, step string
		if err := rows.Scan(&subject, &topic, &period, &person, &step, &incident, &sent); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("nag %d %s %d %s %s %d %d", subject, topic, period, person, step, incident, sent))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}
