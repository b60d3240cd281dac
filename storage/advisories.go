package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// Every read and write of the advisories table is in this file. The
// draft column is CONFIDENTIAL (it holds the team's description of an
// embargoed vulnerability) and Sealed (seal.go): encodeDraft and
// decodeDraft seal and open it, in the cell of its row, incident_id being
// the rowid the seal's sweep of existing rows uses.

var _ bot.AdvisoryStore = (*DB)(nil)

const advisoryColumns = `draft, approvals, publish_at, scheduled_by, distros_at, announced`

// encodeDraft is the draft column's value: the draft without its
// approvals, which have their own column, sealed.
func (db *DB) encodeDraft(id int64, a bot.Advisory) (any, error) {
	a.Approvals = nil
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return db.sealString(cell{"advisories", "draft", id}, string(b))
}

func (db *DB) decodeDraft(id int64, stored []byte) (bot.Advisory, error) {
	var a bot.Advisory
	s, err := db.openString(cell{"advisories", "draft", id}, stored)
	if err != nil {
		return a, err
	}
	err = json.Unmarshal([]byte(s), &a)
	return a, err
}

func (db *DB) scanAdvisory(row scanner) (*bot.AdvisoryRecord, error) {
	var (
		id                   int64
		draft                []byte
		approvals, announced string
		publishAt, distrosAt sql.NullInt64
		rec                  bot.AdvisoryRecord
	)
	if err := row.Scan(&id, &draft, &approvals, &publishAt, &rec.ScheduledBy, &distrosAt, &announced); err != nil {
		return nil, err
	}
	d, err := db.decodeDraft(id, draft)
	if err != nil {
		return nil, fmt.Errorf("advisory draft: %w", err)
	}
	if err := json.Unmarshal([]byte(approvals), &d.Approvals); err != nil {
		return nil, fmt.Errorf("advisory approvals: %w", err)
	}
	if err := json.Unmarshal([]byte(announced), &rec.Announced); err != nil {
		return nil, fmt.Errorf("advisory announcements: %w", err)
	}
	rec.Draft, rec.Stored = d, true
	rec.PublishAt, rec.DistrosNotified = fromMS(publishAt), fromMS(distrosAt)
	return &rec, nil
}

// AdvisoryRecord implements bot.AdvisoryStore.
func (db *DB) AdvisoryRecord(ctx context.Context, id int64) (*bot.AdvisoryRecord, error) {
	rec, err := db.scanAdvisory(db.read.QueryRowContext(ctx, `SELECT incident_id, `+advisoryColumns+` FROM advisories WHERE incident_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.Errorf(bot.KindNotFound, "%s has no advisory draft yet.", bot.FormatID(id))
	}
	return rec, err
}

// UpdateAdvisory implements bot.AdvisoryStore: the incident and its
// advisory change in one transaction.
func (db *DB) UpdateAdvisory(ctx context.Context, id int64, fn func(*bot.Incident, *bot.AdvisoryRecord) (bot.Change, error)) (*bot.Incident, *bot.AdvisoryRecord, error) {
	var rec *bot.AdvisoryRecord
	inc, err := db.updateIncident(ctx, id, func(tx *wtx, inc *bot.Incident) (bot.Change, error) {
		var err error
		rec, err = db.scanAdvisory(tx.QueryRowContext(ctx, `SELECT incident_id, `+advisoryColumns+` FROM advisories WHERE incident_id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			rec, err = &bot.AdvisoryRecord{Draft: bot.NewAdvisory(inc)}, nil
		}
		if err != nil {
			return bot.Change{}, err
		}
		ch, err := fn(inc, rec)
		if err != nil {
			return bot.Change{}, err
		}
		if !rec.Stored {
			return ch, nil
		}
		return ch, db.writeAdvisory(ctx, tx, id, rec, inc.Updated)
	})
	if err != nil {
		return nil, nil, err
	}
	return inc, rec, nil
}

func (db *DB) writeAdvisory(ctx context.Context, tx *wtx, id int64, rec *bot.AdvisoryRecord, now time.Time) error {
	draft, err := db.encodeDraft(id, rec.Draft)
	if err != nil {
		return err
	}
	approvals := rec.Draft.Approvals
	if approvals == nil {
		approvals = []bot.Approval{}
	}
	ab, err := json.Marshal(approvals)
	if err != nil {
		return err
	}
	announced := rec.Announced
	if announced == nil {
		announced = []string{}
	}
	nb, err := json.Marshal(announced)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO advisories(incident_id, `+advisoryColumns+`, published_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(incident_id) DO UPDATE SET draft = excluded.draft, approvals = excluded.approvals,
			publish_at = excluded.publish_at, scheduled_by = excluded.scheduled_by, distros_at = excluded.distros_at,
			announced = excluded.announced, published_at = excluded.published_at, updated_at = excluded.updated_at`,
		id, draft, string(ab), ms(rec.PublishAt), rec.ScheduledBy, ms(rec.DistrosNotified), string(nb),
		ms(rec.Draft.Published), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("storing the advisory: %w", err)
	}
	return nil
}

// PublishedAdvisories implements bot.AdvisoryStore.
func (db *DB) PublishedAdvisories(ctx context.Context) ([]bot.Advisory, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT incident_id, `+advisoryColumns+` FROM advisories WHERE published_at IS NOT NULL ORDER BY incident_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.Advisory
	for rows.Next() {
		rec, err := db.scanAdvisory(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec.Draft)
	}
	return out, rows.Err()
}

// DueAdvisories implements bot.AdvisoryStore.
func (db *DB) DueAdvisories(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT incident_id FROM advisories
		WHERE publish_at IS NOT NULL AND published_at IS NULL AND publish_at <= ? ORDER BY publish_at, incident_id`, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// MarkAnnounced implements bot.AdvisoryStore.
func (db *DB) MarkAnnounced(ctx context.Context, id int64, address string) error {
	return db.inTx(ctx, func(tx *wtx) error {
		var announced string
		err := tx.QueryRowContext(ctx, `SELECT announced FROM advisories WHERE incident_id = ?`, id).Scan(&announced)
		if errors.Is(err, sql.ErrNoRows) {
			return bot.Errorf(bot.KindNotFound, "%s has no advisory.", bot.FormatID(id))
		}
		if err != nil {
			return err
		}
		var list []string
		if err := json.Unmarshal([]byte(announced), &list); err != nil {
			return fmt.Errorf("advisory announcements: %w", err)
		}
		if slices.Contains(list, address) {
			return nil
		}
		b, err := json.Marshal(append(list, address))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE advisories SET announced = ? WHERE incident_id = ?`, string(b), id)
		return err
	})
}
