package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// InReportTx implements bot.IntakeStore: one write transaction for a
// message's report, its incident or quarantine entry, their events and
// queued messages.
//
// fsyncs: the database runs in WAL mode with synchronous=FULL, so a
// commit appends the transaction's pages to the WAL and syncs it once;
// that one fsync per message is what lets a source (an MTA waiting on
// `sectriage ingest`, IMAP before it deletes) drop its copy. Nothing less
// is durable (synchronous=NORMAL loses the last commits on power loss, and
// the message with them). The checkpoint that copies the WAL into the
// database file adds two more (WAL, then database) once per ~1000 pages,
// tens of messages, and restarting the WAL one for its header.
//
// The pages: a commit writes each page the transaction dirtied once, as
// a 4 KB WAL frame (two pwrites). A new incident from a 20 KB report
// dirties about 21: the report (its row and two overflow pages of the
// 8.5 KB encrypted message) and its indexes (hash, Message-ID, source),
// the incident and its six indexes, the events and theirs, the outbox
// and its two, and the database header (the file grew). So the report
// is stored once, finished (wtx.keptFinished), not updated after.
func (db *DB) InReportTx(ctx context.Context, fn func(bot.ReportTx) error) error {
	return db.inTx(ctx, func(tx *wtx) error {
		tx.reportOutcome = true
		if err := fn(&reportTx{db: db, tx: tx}); err != nil {
			return err
		}
		return tx.unfinishKept(ctx)
	})
}

// reportTx is bot.ReportTx inside one write transaction. Every read goes
// through tx as well: it must see what the transaction wrote, and the
// write connection is taken until it ends.
type reportTx struct {
	db *DB
	tx *wtx
}

func (t *reportTx) KeepReport(ctx context.Context, r bot.KeptReport) (int64, bool, error) {
	mid, err := t.db.reportMessageID(r.MessageID)
	if err != nil {
		return 0, false, err
	}
	return t.db.keepReport(ctx, t.tx, r, mid)
}

func (t *reportTx) SameMessageID(ctx context.Context, id int64) (int64, error) {
	if id == t.tx.kept { // looked up as it was stored
		return t.tx.keptSameMessageID, nil
	}
	var first sql.NullInt64
	err := t.tx.queryRow(ctx, qSameMessageID, id).Scan(&first)
	return first.Int64, err
}

func (t *reportTx) CreateIncident(ctx context.Context, inc *bot.Incident, build func(*bot.Incident) bot.Change) (*bot.Incident, error) {
	created := inc.Clone()
	if err := t.db.createIncident(ctx, t.tx, created, build); err != nil {
		return nil, fmt.Errorf("storing new incident: %w", err)
	}
	return created, nil
}

func (t *reportTx) FinishReport(ctx context.Context, id int64, msgs []bot.OutboxMessage, at time.Time) error {
	return t.db.finishReport(ctx, t.tx, id, msgs, at)
}

func (t *reportTx) QuarantineMessage(ctx context.Context, q *bot.Quarantined, build func(*bot.Quarantined) []bot.OutboxMessage) (int64, bool, error) {
	return t.db.quarantineMessage(ctx, t.tx, q, build)
}

func (t *reportTx) AddFollowUp(ctx context.Context, f bot.FollowUp, build func(*bot.Incident) bot.Change) (bool, error) {
	return t.db.addFollowUp(ctx, t.tx, f, build)
}

func (t *reportTx) UpdateIncident(ctx context.Context, id int64, fn func(*bot.Incident) (bot.Change, error)) (*bot.Incident, error) {
	return t.db.updateIncidentTx(ctx, t.tx, id, func(_ *wtx, inc *bot.Incident) (bot.Change, error) { return fn(inc) })
}

func (t *reportTx) AddStatusToken(ctx context.Context, hash string, incidentID int64, at time.Time) error {
	return t.db.addStatusToken(ctx, t.tx, hash, incidentID, at)
}
