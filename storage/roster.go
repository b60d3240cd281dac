package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sectriage/sectriage/bot"
)

var (
	_ bot.RosterStore = (*DB)(nil)
	_ bot.NagStore    = (*DB)(nil)
	_ bot.DutyStore   = (*DB)(nil)
)

// querier is what reading the roster needs: the read pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// RosterState implements bot.RosterStore.
func (db *DB) RosterState(ctx context.Context, since time.Time) (*bot.RosterState, error) {
	return loadRoster(ctx, db.read, since)
}

func loadRoster(ctx context.Context, q querier, since time.Time) (*bot.RosterState, error) {
	rs := &bot.RosterState{}
	rows, err := q.QueryContext(ctx, `SELECT id, kind, sig, person, starts_at, ends_at, created_at, created_by
		FROM roster_overrides WHERE ends_at > ? ORDER BY id`, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("reading roster overrides: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		o := &bot.Override{}
		var from, until, created int64
		if err := rows.Scan(&o.ID, &o.Kind, &o.SIG, &o.Person, &from, &until, &created, &o.By); err != nil {
			return nil, err
		}
		o.From, o.Until, o.Created = time.UnixMilli(from).UTC(), time.UnixMilli(until).UTC(), time.UnixMilli(created).UTC()
		rs.Overrides = append(rs.Overrides, o)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	// Pending hand-overs, and the latest accepted one of each SIG (the one
	// that decides its lead).
	hrows, err := q.QueryContext(ctx, `SELECT id, sig, from_person, to_person, config_lead, requested_at, requested_by,
		accepted_at, cancelled_at FROM handovers
		WHERE cancelled_at IS NULL AND (accepted_at IS NULL OR id IN
			(SELECT MAX(id) FROM handovers WHERE accepted_at IS NOT NULL AND cancelled_at IS NULL GROUP BY sig))
		ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading hand-overs: %w", err)
	}
	defer hrows.Close()
	for hrows.Next() {
		h := &bot.Handover{}
		var requested int64
		var accepted, cancelled sql.NullInt64
		if err := hrows.Scan(&h.ID, &h.SIG, &h.From, &h.To, &h.ConfigLead, &requested, &h.By, &accepted, &cancelled); err != nil {
			return nil, err
		}
		h.Requested, h.Accepted, h.Cancelled = time.UnixMilli(requested).UTC(), fromMS(accepted), fromMS(cancelled)
		rs.Handovers = append(rs.Handovers, h)
	}
	return rs, hrows.Err()
}

// ChangeRoster implements bot.RosterStore.
func (db *DB) ChangeRoster(ctx context.Context, since time.Time, fn func(rs *bot.RosterState) (bot.RosterChange, error)) error {
	return db.inTx(ctx, func(tx *wtx) error {
		rs, err := loadRoster(ctx, tx, since)
		if err != nil {
			return err
		}
		ch, err := fn(rs)
		if err != nil {
			return err
		}
		for _, o := range ch.Add {
			res, err := tx.ExecContext(ctx, `INSERT INTO roster_overrides(kind, sig, person, starts_at, ends_at, created_at, created_by)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, o.Kind, o.SIG, o.Person, o.From.UnixMilli(), o.Until.UnixMilli(), o.Created.UnixMilli(), o.By)
			if err != nil {
				return fmt.Errorf("storing %s: %w", o.Kind, err)
			}
			if o.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		for id, until := range ch.End {
			if _, err := tx.ExecContext(ctx, `UPDATE roster_overrides SET ends_at = MAX(starts_at, ?) WHERE id = ? AND ends_at > ?`,
				until.UnixMilli(), id, until.UnixMilli()); err != nil {
				return fmt.Errorf("ending override %d: %w", id, err)
			}
		}
		for _, h := range ch.Handovers {
			if err := saveHandover(ctx, tx, h); err != nil {
				return err
			}
		}
		for _, ev := range ch.Events {
			if _, err := tx.ExecContext(ctx, `INSERT INTO roster_events(at, actor, platform, kind, sig, person, details)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, ev.At.UnixMilli(), ev.Actor, ev.Platform, ev.Kind, ev.SIG, ev.Person, ev.Details); err != nil {
				return fmt.Errorf("appending roster event: %w", err)
			}
		}
		return db.enqueue(ctx, tx, ch.Outbox, 0)
	})
}

func saveHandover(ctx context.Context, tx *wtx, h *bot.Handover) error {
	if h.ID != 0 {
		_, err := tx.ExecContext(ctx, `UPDATE handovers SET accepted_at = ?, cancelled_at = ? WHERE id = ?`,
			ms(h.Accepted), ms(h.Cancelled), h.ID)
		if err != nil {
			return fmt.Errorf("updating hand-over %d: %w", h.ID, err)
		}
		return nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO handovers(sig, from_person, to_person, config_lead, requested_at, requested_by,
		accepted_at, cancelled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, h.SIG, h.From, h.To, h.ConfigLead, h.Requested.UnixMilli(), h.By,
		ms(h.Accepted), ms(h.Cancelled))
	if err != nil {
		return fmt.Errorf("storing hand-over: %w", err)
	}
	h.ID, err = res.LastInsertId()
	return err
}

// RosterHistory implements bot.RosterStore.
func (db *DB) RosterHistory(ctx context.Context, team string, limit int) ([]bot.RosterEvent, error) {
	q := `SELECT id, at, actor, platform, kind, sig, person, details FROM roster_events`
	var args []any
	if team != "" {
		q += ` WHERE sig = ? OR sig = ''`
		args = append(args, team)
	}
	q += ` ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.RosterEvent
	for rows.Next() {
		var ev bot.RosterEvent
		var at int64
		if err := rows.Scan(&ev.ID, &at, &ev.Actor, &ev.Platform, &ev.Kind, &ev.SIG, &ev.Person, &ev.Details); err != nil {
			return nil, err
		}
		ev.At = time.UnixMilli(at).UTC()
		out = append(out, ev)
	}
	return out, rows.Err()
}
