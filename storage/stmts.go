package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"
)

// modernc.org/sqlite parses every query handed to ExecContext or
// QueryContext afresh (conn.exec prepares, runs and finalizes), which was
// about a quarter of intake's CPU. The statements of the intake path are
// prepared once per connection instead, as the driver's own statements,
// and run inside a write transaction through its *sql.Conn (see wtx):
// database/sql's *sql.Stmt would be wrapped anew for every statement of
// every transaction (Tx.StmtContext), with a dependency-map entry and a
// close at commit, a fifth of intake's allocations.

// hotQueries are the statements intake runs for every message: storing it,
// opening its incident with its events and notices (or joining one as a
// follow-up, or noting a claim on one), queueing the acknowledgement with
// its status link, marking it finished.
var hotQueries = []string{
	qReportByHash, qInsertReport, qSameMessageID, qFinishReport, qUnfinishReport,
	qInsertIncident,
	qMaxIDs, qReportByHashMaxIDs,
	qQuarantineByKey, qInsertQuarantine, qRequarantine,
	qFollowUpOf, qIncidentByID, qInsertFollowUp, qUpdateIncident,
	qInsertStatusToken,
	qBegin, qCommit, qRollback,
}

func init() {
	for _, ins := range []*rowsInsert{insertEvents, insertOutbox} {
		hotQueries = append(hotQueries, ins.byRows[:]...)
	}
}

const (
	// qReportByHash finds a report by its hash and, for one about to be
	// stored, the first stored under its Message-ID (SameMessageID's
	// answer for it: every stored id is lower than the next one).
	qReportByHash  = `SELECT (SELECT id FROM reports WHERE sha256 = ?), (SELECT MIN(id) FROM reports WHERE message_id = ?)`
	qInsertReport  = `INSERT INTO reports(id, received_at, source, message_id, sha256, raw, sealed, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qSameMessageID = `SELECT MIN(o.id) FROM reports r JOIN reports o
		ON o.message_id = r.message_id AND o.id < r.id WHERE r.id = ? AND r.message_id IS NOT NULL`
	qFinishReport     = `UPDATE reports SET finished_at = ? WHERE id = ? AND finished_at IS NULL`
	qUnfinishReport   = `UPDATE reports SET finished_at = NULL WHERE id = ?`
	qQuarantineByKey  = `SELECT id, released_at FROM quarantine WHERE dedupe_key = ? OR (report_id IS NOT NULL AND report_id = ?)`
	qInsertQuarantine = `INSERT INTO quarantine(id, received_at, source, report_id, dedupe_key, sender, message_id, size, reason, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qRequarantine = `UPDATE quarantine SET released_at = NULL, reason = ?, detail = ? WHERE id = ?`

	qFollowUpOf        = `SELECT incident_id FROM followups WHERE report_id = ?`
	qInsertFollowUp    = `INSERT INTO followups(report_id, incident_id, matched_by, received_at) VALUES (?, ?, ?, ?)`
	qInsertStatusToken = `INSERT INTO status_tokens(hash, incident_id, created_at) VALUES (?, ?, ?)`

	// Every write transaction's own statements (inTx).
	qBegin    = `BEGIN IMMEDIATE`
	qCommit   = `COMMIT`
	qRollback = `ROLLBACK`
)

var (
	insertEvents = newRowsInsert(`INSERT INTO events(id, incident_id, at, actor, platform, kind, details)`, 7, ``)
	// insertOutbox leaves last_error at its default, '': a message not
	// yet tried has no error, and an empty value is stored so even when
	// sealed (see sealValue). A row whose dedupe key was used before, by
	// an earlier row of the same statement too, is dropped: SQLite inserts
	// a statement's rows in order.
	insertOutbox = newRowsInsert(`INSERT INTO outbox(id, created_at, platform, channel, person, address, kind, incident_id, body,
		confidential, dedupe_key, next_attempt_at)`, 12, ` ON CONFLICT DO NOTHING`)

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

// maxRowsPerInsert is the most rows a rowsInsert writes in one statement.
const maxRowsPerInsert = 8

// rowsInsert is an INSERT of one to maxRowsPerInsert rows per statement: a
// change's events and its queued messages are each one statement (wtx.insertRows)
// rather than one per row, each of which costs the driver a result, its
// bindings' bookkeeping and a run of the statement machine.
type rowsInsert struct {
	width  int                      // values per row
	byRows [maxRowsPerInsert]string // byRows[n-1] inserts n rows
}

// newRowsInsert makes the statements of head (INSERT INTO t(columns))
// with width values per row, and tail (an ON CONFLICT clause or "").
func newRowsInsert(head string, width int, tail string) *rowsInsert {
	ins := &rowsInsert{width: width}
	row := "(" + placeholders(width) + ")"
	for n := 1; n <= maxRowsPerInsert; n++ {
		ins.byRows[n-1] = head + " VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + tail
	}
	return ins
}

// idTables are the tables whose rows are numbered by nextID, never by
// SQLite: every INSERT into them names the id nextID gave.
var idTables = [...]string{"reports", "incidents", "events", "outbox", "quarantine"}

// qMaxIDs reads the highest id of every table in idTables.
var qMaxIDs = func() string {
	cols := make([]string, len(idTables))
	for i, t := range idTables {
		cols[i] = `(SELECT COALESCE(MAX(id), 0) FROM ` + t + `)`
	}
	return `SELECT ` + strings.Join(cols, ", ")
}()

// qReportByHashMaxIDs is qReportByHash followed by qMaxIDs's columns, for
// the first statement of a report transaction: one query where two would
// each pay the driver's per-query cost (its rows, their column names).
var qReportByHashMaxIDs = strings.Replace(qReportByHash, "SELECT ", "SELECT "+strings.TrimPrefix(qMaxIDs, "SELECT ")+", ", 1)

// driverStmt is a statement prepared by the driver.
type driverStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// stmts says which queries are hot: each write connection (writeConn)
// prepares those the first time it runs them and keeps them for its life.
type stmts struct {
	hot map[string]bool
	log *slog.Logger
	// unprepared counts statements run in a write transaction that are
	// not hot queries (prepared, run and finalized on the spot); tests read
	// it to keep the intake path on prepared statements.
	unprepared atomic.Int64
}

func newStmts(queries []string, log *slog.Logger) *stmts {
	s := &stmts{hot: make(map[string]bool, len(queries)), log: log}
	for _, q := range queries {
		s.hot[q] = true
	}
	return s
}

// openWrite opens the pool of the write connection (one), made of
// writeConns.
func openWrite(dsn string, s *stmts) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(writeConnector{Connector: c, stmts: s})
	db.SetMaxOpenConns(1)
	return db, nil
}

// writeConnector makes modernc.org/sqlite's connections writeConns.
type writeConnector struct {
	driver.Connector
	stmts *stmts
}

func (c writeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(sqliteConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("storage: the SQLite driver's connection (%T) lacks a method database/sql uses", dc)
	}
	return &writeConn{sqliteConn: sc, stmts: c.stmts}, nil
}

// sqliteConn is what database/sql uses of a modernc.org/sqlite
// connection; writeConn passes it all on.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// writeConn is the write connection with the hot queries' statements,
// prepared by the driver and kept until database/sql closes it (which it
// also does after a ROLLBACK that failed, see rollback): their lifetime
// is the connection's, whichever way it ends.
type writeConn struct {
	sqliteConn
	stmts   *stmts
	byQuery map[string]driverStmt // nil for a query that did not prepare
}

// prepared returns query's statement, or nil if query is not a hot one or
// does not prepare: then it runs unprepared, through database/sql, and
// fails where it is used, as it would have without the cache (one that
// does not prepare is logged once: a schema this binary does not expect).
// database/sql hands the connection to one user at a time (Conn.Raw).
func (c *writeConn) prepared(ctx context.Context, query string) driverStmt {
	if !c.stmts.hot[query] {
		return nil
	}
	if st, ok := c.byQuery[query]; ok {
		return st
	}
	if c.byQuery == nil {
		c.byQuery = make(map[string]driverStmt, len(c.stmts.hot))
	}
	var st driverStmt
	ds, err := c.PrepareContext(ctx, query)
	if err != nil {
		c.stmts.log.Warn("a statement does not prepare on this database", "query", query, "err", err)
	} else if st, _ = ds.(driverStmt); st == nil {
		ds.Close()
	}
	c.byQuery[query] = st
	return st
}

// Close finalizes the statements before the connection: the driver frees
// a closed connection's state, so they could not be finalized after.
func (c *writeConn) Close() error {
	var errs []error
	for _, st := range c.byQuery {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	c.byQuery = nil
	return errors.Join(append(errs, c.sqliteConn.Close())...)
}
