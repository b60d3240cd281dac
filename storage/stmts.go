package storage

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// modernc.org/sqlite parses every query handed to ExecContext or
// QueryContext afresh (conn.exec prepares, runs and finalizes), which was
// about a quarter of intake's CPU. The statements of the intake path are
// prepared once instead: database/sql keeps a *sql.Stmt prepared on each
// connection it has run on, and Tx.StmtContext reuses the write
// connection's. They are prepared in Open, because preparing needs a
// connection, and the only write connection is taken while a transaction
// runs (asking for another would wait for ever).

// hotQueries are the statements intake runs for every message: storing it,
// opening its incident with its events and notices (or joining one as a
// follow-up, or noting a claim on one), queueing the acknowledgement with
// its status link, marking it finished.
var hotQueries = []string{
	qReportByHash, qInsertReport, qSameMessageID, qFinishReport,
	qInsertIncident, qInsertEvent, qInsertOutbox,
	qMaxIDs,
	qQuarantineByKey, qInsertQuarantine, qRequarantine,
	qFollowUpOf, qIncidentByID, qInsertFollowUp, qUpdateIncident,
	qInsertStatusToken,
}

const (
	qReportByHash  = `SELECT id FROM reports WHERE sha256 = ?`
	qInsertReport  = `INSERT INTO reports(id, received_at, source, message_id, sha256, raw, sealed) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qSameMessageID = `SELECT MIN(o.id) FROM reports r JOIN reports o
		ON o.message_id = r.message_id AND o.id < r.id WHERE r.id = ? AND r.message_id IS NOT NULL`
	qFinishReport = `UPDATE reports SET finished_at = ? WHERE id = ? AND finished_at IS NULL`
	qInsertEvent  = `INSERT INTO events(id, incident_id, at, actor, platform, kind, details) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qInsertOutbox = `INSERT INTO outbox(id, created_at, platform, channel, person, address, kind, incident_id, body,
		confidential, dedupe_key, next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`
	qQuarantineByKey  = `SELECT id, released_at FROM quarantine WHERE dedupe_key = ? OR (report_id IS NOT NULL AND report_id = ?)`
	qInsertQuarantine = `INSERT INTO quarantine(id, received_at, source, report_id, dedupe_key, sender, message_id, size, reason, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qRequarantine = `UPDATE quarantine SET released_at = NULL, reason = ?, detail = ? WHERE id = ?`

	qFollowUpOf        = `SELECT incident_id FROM followups WHERE report_id = ?`
	qInsertFollowUp    = `INSERT INTO followups(report_id, incident_id, matched_by, received_at) VALUES (?, ?, ?, ?)`
	qInsertStatusToken = `INSERT INTO status_tokens(hash, incident_id, created_at) VALUES (?, ?, ?)`
)

var (
	qInsertIncident = `INSERT INTO incidents(` + incidentColumns + `) VALUES (` + placeholders(strings.Count(incidentColumns, ",")+1) + `)`
	qIncidentByID   = `SELECT ` + incidentColumns + ` FROM incidents WHERE id = ?`
	qUpdateIncident = func() string {
		sets := strings.Split(strings.TrimPrefix(incidentColumns, "id, "), ",")
		for i := range sets {
			sets[i] = strings.TrimSpace(sets[i]) + " = ?"
		}
		return `UPDATE incidents SET ` + strings.Join(sets, ", ") + ` WHERE id = ?`
	}()
)

// idTables are the tables whose rows are numbered by nextID, never by
// SQLite: every INSERT into them names the id nextID gave.
var idTables = []string{"reports", "incidents", "events", "outbox", "quarantine"}

// qMaxIDs reads the highest id of every table in idTables.
var qMaxIDs = func() string {
	cols := make([]string, len(idTables))
	for i, t := range idTables {
		cols[i] = `(SELECT COALESCE(MAX(id), 0) FROM ` + t + `)`
	}
	return `SELECT ` + strings.Join(cols, ", ")
}()

// rowIDs hands out the ids of new rows within one write transaction: the
// write connection runs one transaction at a time under the write lock,
// so after reading each table's highest id once, counting on is exact
// (1 query per message instead of one per row). The counts are kept for
// the *sql.Tx that read them only; the next transaction reads afresh.
// Holding the pointer keeps that Tx alive, so a later one cannot reuse
// its address.
type rowIDs struct {
	mu   sync.Mutex
	tx   *sql.Tx
	last map[string]int64
}

func (r *rowIDs) next(ctx context.Context, tx *sql.Tx, table string, s *stmts) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tx != tx {
		r.tx = nil
		max := make([]int64, len(idTables))
		dest := make([]any, len(idTables))
		for i := range max {
			dest[i] = &max[i]
		}
		if err := s.queryRow(ctx, tx, qMaxIDs).Scan(dest...); err != nil {
			return 0, err
		}
		if r.last == nil {
			r.last = make(map[string]int64, len(idTables))
		}
		for i, t := range idTables {
			r.last[t] = max[i]
		}
		r.tx = tx
	}
	last, ok := r.last[table]
	if !ok {
		return 0, fmt.Errorf("storage: table %s is not numbered by nextID", table)
	}
	r.last[table] = last + 1
	return last + 1, nil
}

// stmts are the write connection's prepared statements, by query text.
// The map is filled in Open and only read afterwards.
type stmts struct {
	byQuery map[string]*sql.Stmt
	// unprepared counts statements run in a transaction that are not in
	// byQuery (prepared, run and finalized on the spot); tests read it to
	// keep the intake path on prepared statements.
	unprepared atomic.Int64
}

// prepareStmts prepares queries on db. One that does not prepare (a
// schema this binary does not expect) is left out and logged: it runs
// unprepared and fails where it is used, as it would have without the
// cache, instead of refusing to open the database.
func prepareStmts(ctx context.Context, db *sql.DB, queries []string, log *slog.Logger) *stmts {
	s := &stmts{byQuery: make(map[string]*sql.Stmt, len(queries))}
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			log.Warn("a statement does not prepare on this database", "query", q, "err", err)
			continue
		}
		s.byQuery[q] = st
	}
	return s
}

func (s *stmts) close() error {
	var first error
	for _, st := range s.byQuery {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// exec runs query in tx, with its prepared statement if it has one.
func (s *stmts) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.byQuery[query]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	s.unprepared.Add(1)
	return tx.ExecContext(ctx, query, args...)
}

// queryRow is exec for a query returning one row.
func (s *stmts) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.byQuery[query]; st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	s.unprepared.Add(1)
	return tx.QueryRowContext(ctx, query, args...)
}
