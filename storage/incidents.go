package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

const incidentColumns = `id, title, sig, severity, cvss, score, state, close_reason, assignee, claimed, manager,
	acked_by, acked_at, reporter, reporter_key, report_id, encrypted, cves, embargo_at, created_at, updated_at,
	state_since, last_activity, due_overrides, due_at, due_kind, snoozed_until, next_action_at`

type scanner interface{ Scan(dest ...any) error }

func (db *DB) scanIncident(row scanner) (*bot.Incident, error) {
	var (
		inc                                       bot.Incident
		severity, state, overrides, dueKind       string
		title, reporter, reporterKey, cves        []byte
		ackedAt, reportID, embargo, dueAt, snooze sql.NullInt64
		sweepAt                                   sql.NullInt64
		created, updated, since, activity         int64
	)
	err := row.Scan(&inc.ID, &title, &inc.SIG, &severity, &inc.CVSS, &inc.Score, &state, &inc.CloseReason,
		&inc.Assignee, &inc.Claimed, &inc.Manager, &inc.AckedBy, &ackedAt, &reporter, &reporterKey,
		&reportID, &inc.Encrypted, &cves, &embargo, &created, &updated, &since, &activity, &overrides,
		&dueAt, &dueKind, &snooze, &sweepAt)
	if err != nil {
		return nil, err
	}
	var cveList string
	for _, f := range []struct {
		column string
		stored []byte
		into   *string
	}{{"title", title, &inc.Title}, {"reporter", reporter, &inc.Reporter}, {"reporter_key", reporterKey, &inc.ReporterKey}, {"cves", cves, &cveList}} {
		if *f.into, err = db.openString(cell{"incidents", f.column, inc.ID}, f.stored); err != nil {
			return nil, fmt.Errorf("incident %d: %w", inc.ID, err)
		}
	}
	inc.Severity, inc.State, inc.DueKind = bot.Severity(severity), bot.State(state), bot.DeadlineKind(dueKind)
	inc.AckedAt, inc.Embargo, inc.Due, inc.SnoozedUntil = fromMS(ackedAt), fromMS(embargo), fromMS(dueAt), fromMS(snooze)
	inc.ReportID = reportID.Int64
	inc.SweepAt = fromMS(sweepAt)
	inc.Created, inc.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	inc.StateSince, inc.LastActivity = time.UnixMilli(since).UTC(), time.UnixMilli(activity).UTC()
	inc.CVEs = strings.Fields(cveList)
	if overrides != "" && overrides != "{}" {
		var m map[bot.DeadlineKind]int64
		if err := json.Unmarshal([]byte(overrides), &m); err != nil {
			return nil, fmt.Errorf("incident %d: bad due_overrides: %w", inc.ID, err)
		}
		inc.DueOverrides = make(map[bot.DeadlineKind]time.Time, len(m))
		for k, v := range m {
			inc.DueOverrides[k] = time.UnixMilli(v).UTC()
		}
	}
	return &inc, nil
}

// incidentValues appends to vals the incident's columns after id, in
// incidentColumns order, with the confidential ones sealed to the row
// inc.ID, boxing its public names with b (which may be nil).
func (db *DB) incidentValues(b *txBuffers, vals []any, inc *bot.Incident) ([]any, error) {
	var overrides any = "{}" // a constant: no allocation
	if len(inc.DueOverrides) > 0 {
		m := make(map[bot.DeadlineKind]int64, len(inc.DueOverrides))
		for k, v := range inc.DueOverrides {
			m[k] = v.UnixMilli()
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		overrides = string(b)
	}
	var reportID any
	if inc.ReportID != 0 {
		reportID = inc.ReportID
	}
	var sealed [4]any
	for i, f := range []struct{ column, value string }{
		{"title", inc.Title}, {"reporter", inc.Reporter}, {"reporter_key", inc.ReporterKey}, {"cves", strings.Join(inc.CVEs, " ")},
	} {
		var err error
		if sealed[i], err = db.sealString(cell{"incidents", f.column, inc.ID}, f.value); err != nil {
			return nil, err
		}
	}
	// A new incident's four times are one: boxed once (each conversion
	// to any is an allocation).
	created := any(inc.Created.UnixMilli())
	at := func(t time.Time) any {
		if t.Equal(inc.Created) {
			return created
		}
		return t.UnixMilli()
	}
	return append(vals, sealed[0], b.box(inc.SIG), b.box(string(inc.Severity)), inc.CVSS, inc.Score, b.box(string(inc.State)),
		inc.CloseReason, b.box(inc.Assignee), inc.Claimed, b.box(inc.Manager), b.box(inc.AckedBy), ms(inc.AckedAt),
		sealed[1], sealed[2], reportID, inc.Encrypted, sealed[3], ms(inc.Embargo), created,
		at(inc.Updated), at(inc.StateSince), at(inc.LastActivity), overrides,
		ms(inc.Due), b.box(string(inc.DueKind)), ms(inc.SnoozedUntil), ms(inc.SweepAt)), nil
}

// CreateIncident implements bot.IncidentStore.
func (db *DB) CreateIncident(ctx context.Context, inc *bot.Incident, build func(*bot.Incident) bot.Change) (*bot.Incident, error) {
	created := inc.Clone()
	err := db.inTx(ctx, func(tx *wtx) error {
		return db.createIncident(ctx, tx, created, build)
	})
	if err != nil {
		return nil, fmt.Errorf("storing new incident: %w", err)
	}
	return created, nil
}

// createIncident is CreateIncident inside tx; it sets inc.ID.
func (db *DB) createIncident(ctx context.Context, tx *wtx, inc *bot.Incident, build func(*bot.Incident) bot.Change) error {
	var err error
	if inc.ID, err = tx.nextID(ctx, "incidents"); err != nil {
		return err
	}
	vals, err := db.incidentValues(tx.txBuffers, append(tx.rowArgs[:0], inc.ID), inc)
	if err != nil {
		return err
	}
	tx.rowArgs = vals
	if _, err := tx.exec(ctx, qInsertIncident, vals...); err != nil {
		return err
	}
	return db.applyChange(ctx, tx, inc.ID, build(inc))
}

// UpdateIncident implements bot.IncidentStore. The write connection runs
// BEGIN IMMEDIATE, so the read below already holds the write lock: two
// concurrent updates of one incident cannot both read the old state.
func (db *DB) UpdateIncident(ctx context.Context, id int64, fn func(*bot.Incident) (bot.Change, error)) (*bot.Incident, error) {
	return db.updateIncident(ctx, id, func(_ *wtx, inc *bot.Incident) (bot.Change, error) { return fn(inc) })
}

// updateIncident is UpdateIncident with the transaction handed to fn, for
// what is stored beside the incident (its advisory).
func (db *DB) updateIncident(ctx context.Context, id int64, fn func(*wtx, *bot.Incident) (bot.Change, error)) (*bot.Incident, error) {
	var updated *bot.Incident
	err := db.inTx(ctx, func(tx *wtx) error {
		var err error
		updated, err = db.updateIncidentTx(ctx, tx, id, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return updated, nil
}

// updateIncidentTx is updateIncident inside tx.
func (db *DB) updateIncidentTx(ctx context.Context, tx *wtx, id int64, fn func(*wtx, *bot.Incident) (bot.Change, error)) (*bot.Incident, error) {
	inc, err := db.scanIncident(tx.queryRow(ctx, qIncidentByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	change, err := fn(tx, inc)
	if err != nil {
		return nil, err
	}
	vals, err := db.incidentValues(tx.txBuffers, tx.rowArgs[:0], inc)
	if err != nil {
		return nil, err
	}
	tx.rowArgs = append(vals, id)
	if _, err := tx.exec(ctx, qUpdateIncident, tx.rowArgs...); err != nil {
		return nil, err
	}
	if err := db.applyChange(ctx, tx, id, change); err != nil {
		return nil, err
	}
	return inc, nil
}

func notFound(id int64) error {
	return bot.Errorf(bot.KindNotFound, "%s does not exist.", bot.FormatID(id))
}

// applyChange appends events and queues messages inside tx.
func (db *DB) applyChange(ctx context.Context, tx *wtx, incidentID int64, ch bot.Change) error {
	args := tx.rowArgs[:0]
	var incident any = incidentID // boxed once for every row
	for _, ev := range ch.Events {
		id, err := tx.nextID(ctx, "events")
		if err != nil {
			return err
		}
		details, err := db.sealString(cell{"events", "details", id}, ev.Details)
		if err != nil {
			return err
		}
		args = append(args, id, incident, ev.At.UnixMilli(), tx.box(ev.Actor), tx.box(ev.Platform), tx.box(ev.Kind), details)
	}
	tx.rowArgs = args
	if err := tx.insertRows(ctx, insertEvents, args); err != nil {
		return fmt.Errorf("appending event: %w", err)
	}
	return db.enqueue(ctx, tx, ch.Outbox, incidentID)
}

// Incident implements bot.IncidentStore.
func (db *DB) Incident(ctx context.Context, id int64) (*bot.Incident, error) {
	inc, err := db.scanIncident(db.read.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	return inc, err
}

// incidentWhere turns a filter into a WHERE clause.
func incidentWhere(f bot.IncidentFilter) (string, []any) {
	var where []string
	var args []any
	if f.OpenOnly {
		where = append(where, `state <> 'closed'`)
	}
	if f.Assignee != "" {
		where = append(where, `assignee = ?`)
		args = append(args, f.Assignee)
	}
	if f.SIG != "" {
		where = append(where, `sig = ?`)
		args = append(args, f.SIG)
	}
	if !f.DueBefore.IsZero() {
		where = append(where, `due_at IS NOT NULL AND due_at < ?`)
		args = append(args, f.DueBefore.UnixMilli())
	}
	if len(where) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(where, ` AND `), args
}

// ListIncidents implements bot.IncidentStore: most urgent deadline first,
// incidents without a deadline last.
func (db *DB) ListIncidents(ctx context.Context, f bot.IncidentFilter) ([]*bot.Incident, error) {
	where, args := incidentWhere(f)
	order := ` ORDER BY due_at IS NULL, due_at, id`
	if !f.DueBefore.IsZero() {
		// No NULLs here: this order walks the due_at index and stops at the limit.
		order = ` ORDER BY due_at, id`
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents` + where + order
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	return db.queryIncidents(ctx, q, args...)
}

// queryIncidents runs a SELECT of incidentColumns and scans every row.
func (db *DB) queryIncidents(ctx context.Context, q string, args ...any) ([]*bot.Incident, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*bot.Incident
	for rows.Next() {
		inc, err := db.scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

// CountIncidents implements bot.IncidentStore.
func (db *DB) CountIncidents(ctx context.Context, f bot.IncidentFilter) (int, error) {
	where, args := incidentWhere(f)
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents`+where, args...).Scan(&n)
	return n, err
}

// Events implements bot.IncidentStore.
func (db *DB) Events(ctx context.Context, incidentID int64) ([]bot.Event, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, incident_id, at, actor, platform, kind, details FROM events WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.Event
	for rows.Next() {
		var ev bot.Event
		var at int64
		var details []byte
		if err := rows.Scan(&ev.ID, &ev.IncidentID, &at, &ev.Actor, &ev.Platform, &ev.Kind, &details); err != nil {
			return nil, err
		}
		if ev.Details, err = db.openString(cell{"events", "details", ev.ID}, details); err != nil {
			return nil, fmt.Errorf("event %d: %w", ev.ID, err)
		}
		ev.At = time.UnixMilli(at).UTC()
		out = append(out, ev)
	}
	return out, rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
