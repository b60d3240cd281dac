package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Stats is what the metrics read from the database at scrape time. Every
// query is an aggregate over an index or a small table, so a scrape stays
// cheap however many incidents and reports there are.
type Stats struct {
	// ReportsBySource counts every message received, by source: stored
	// reports plus messages quarantined as too large to store. It only
	// grows: reports are never deleted.
	ReportsBySource map[string]int
	// ReportsDecrypted counts reports that became incidents and were
	// encrypted to the team key.
	ReportsDecrypted int
	// QuarantinedByReason counts quarantine entries by reason code.
	QuarantinedByReason map[string]int
	// Incidents counts incidents by state and SIG.
	Incidents []IncidentCount
	// OverdueBySIG counts open incidents whose earliest deadline passed.
	OverdueBySIG map[string]int
	// NagsByStep counts the nags recorded (and queued), by step: assignee,
	// deputy, officers, embargo, handover, reminder.
	NagsByStep map[string]int
	Outbox     OutboxStats
}

// IncidentCount is the number of incidents in one state of one SIG.
type IncidentCount struct {
	State string
	SIG   string
	Count int
}

// Stats reads the counts; now decides what is overdue.
func (db *DB) Stats(ctx context.Context, now time.Time) (Stats, error) {
	s := Stats{
		ReportsBySource: map[string]int{}, QuarantinedByReason: map[string]int{},
		OverdueBySIG: map[string]int{}, NagsByStep: map[string]int{},
	}
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s, err
	}
	defer tx.Rollback() // one snapshot for all counts
	for _, q := range []struct {
		what, sql string
		args      []any
		into      map[string]int
	}{
		{"reports", `SELECT source, COUNT(*) FROM reports GROUP BY source`, nil, s.ReportsBySource},
		{"unstored reports", `SELECT source, COUNT(*) FROM quarantine WHERE report_id IS NULL GROUP BY source`, nil, s.ReportsBySource},
		{"quarantine", `SELECT reason, COUNT(*) FROM quarantine GROUP BY reason`, nil, s.QuarantinedByReason},
		// "+sig" keeps the planner on incidents_open_due (the overdue
		// few) rather than walking every incident in SIG order.
		{"overdue incidents", `SELECT sig, COUNT(*) FROM incidents WHERE state <> 'closed' AND due_at <= ? GROUP BY +sig`,
			[]any{now.UnixMilli()}, s.OverdueBySIG},
		// A reminder round is bookkeeping (person ''), not a nag.
		{"nags", `SELECT step, COUNT(*) FROM nags WHERE person <> '' GROUP BY step`, nil, s.NagsByStep},
	} {
		if err := countInto(ctx, tx, q.sql, q.args, q.into); err != nil {
			return s, fmt.Errorf("counting %s: %w", q.what, err)
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE report_id IS NOT NULL AND encrypted = 1`).
		Scan(&s.ReportsDecrypted); err != nil {
		return s, fmt.Errorf("counting decrypted reports: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT state, sig, COUNT(*) FROM incidents GROUP BY sig, state`)
	if err != nil {
		return s, fmt.Errorf("counting incidents: %w", err)
	}
	for rows.Next() {
		var c IncidentCount
		if err := rows.Scan(&c.State, &c.SIG, &c.Count); err != nil {
			rows.Close()
			return s, err
		}
		s.Incidents = append(s.Incidents, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, err
	}
	s.Outbox, err = outboxStats(ctx, tx)
	return s, err
}

func countInto(ctx context.Context, tx *sql.Tx, query string, args []any, into map[string]int) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		into[k] += n
	}
	return rows.Err()
}
