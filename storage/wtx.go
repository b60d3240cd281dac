package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
)

// wtx is one write transaction on the write connection, held for it as a
// *sql.Conn: BEGIN IMMEDIATE, COMMIT and ROLLBACK are the connection's own
// prepared statements (inTx), the hot queries run on the driver's prepared
// statements (stmts), any other through the *sql.Conn. It numbers new rows
// as well (nextID).
//
// It is not a *sql.Tx: database/sql starts a goroutine for every Tx to
// watch its context, and the driver one for every BEGIN and COMMIT given a
// context that can end, each a thread woken and a context switch per
// message on intake's path. Instead no statement of a write transaction is
// ever interrupted (each runs without its context's cancellation, see
// uncancelled): a context that ends stops the transaction at its next
// statement or before its COMMIT (live), and inTx rolls it back. SQLite
// rolls back a transaction whose write statement is interrupted, after
// which later statements would run outside it, each committing on its own;
// with no interruption, a transaction ends only by inTx's COMMIT or
// ROLLBACK.
type wtx struct {
	conn  *sql.Conn
	stmts *stmts
	// begun is the context the transaction was begun with: once it is
	// done, no statement runs and inTx rolls back (live), as database/sql's
	// own Tx does.
	begun context.Context
	// lastID is each of idTables' highest id, read on the first nextID.
	lastID  [len(idTables)]int64
	idsRead bool
	*txBuffers
	// quiet is context.WithoutCancel(of), made once for the context every
	// statement of a transaction is usually given.
	of, quiet context.Context

	// reportOutcome: this is a report transaction (InReportTx), which
	// takes the report it stores to its outcome, so keepReport stores it
	// finished (at its arrival), and keptFinished is its id until the
	// outcome says so (finishReportRow); one left without an outcome is
	// made unfinished before commit (unfinishKept). Storing it unfinished
	// and updating it rewrote the whole row, raw message and overflow
	// chain included (freeing and taking pages: two freelist frames), and
	// dirtied reports_unfinished: three of a message's 24 WAL frames.
	reportOutcome bool
	keptFinished  int64
	// kept is the report keepReport stored last in tx, and
	// keptSameMessageID the first report stored before it under its
	// Message-ID (0: none), read with its hash (qReportByHash).
	kept, keptSameMessageID int64
}

// txBuffers are a write transaction's buffers, kept for the next one (in
// DB.bufs): every message's transaction would grow them afresh.
type txBuffers struct {
	args    []driver.NamedValue // reused by every statement
	rowArgs []any               // reused for the values of insertRows
	boxes   map[string]any      // see box
}

// maxBoxes bounds txBuffers.boxes.
const maxBoxes = 128

// box returns s as an any: converting a string to any allocates, and
// most of a message's public strings are the same few each time (its
// platform, its kind, a SIG, a state), so those are converted once and
// kept. It is for the public columns of a small set of values only: it
// keeps the first maxBoxes it sees for as long as DB.bufs keeps b.
func (b *txBuffers) box(s string) any {
	if b == nil {
		return s
	}
	if v, ok := b.boxes[s]; ok {
		return v
	}
	if len(b.boxes) >= maxBoxes || len(s) > 64 {
		return s
	}
	if b.boxes == nil {
		b.boxes = make(map[string]any, maxBoxes)
	}
	v := any(strings.Clone(s)) // not a slice of a larger string kept alive
	b.boxes[v.(string)] = v
	return v
}

// unfinishKept makes the report tx stored finished unfinished, if its
// outcome was not written.
func (tx *wtx) unfinishKept(ctx context.Context) error {
	if tx.keptFinished == 0 {
		return nil
	}
	id := tx.keptFinished
	tx.keptFinished = 0
	_, err := tx.exec(ctx, qUnfinishReport, id)
	return err
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE), committed if fn
// returns nil and its context has not ended, rolled back otherwise (also
// when fn panics and someone recovers).
//
// BEGIN IMMEDIATE may wait for another process's write lock, up to
// busy_timeout (10 s), without watching ctx (see wtx): its context is
// checked before it starts and before anything runs in it.
func (db *DB) inTx(ctx context.Context, fn func(tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return diskFull(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error { return txControl(dc, qBegin) }); err != nil {
		return diskFull(err)
	}
	open := true
	defer func() {
		if open {
			conn.Raw(rollback)
		}
	}()
	bufs, _ := db.bufs.Get().(*txBuffers)
	if bufs == nil {
		bufs = &txBuffers{
			args:    make([]driver.NamedValue, 0, maxRowsPerInsert*insertOutbox.width),
			rowArgs: make([]any, 0, maxRowsPerInsert*insertOutbox.width),
		}
	}
	defer func() {
		// No sealed value or argument outlives its transaction here.
		clear(bufs.args[:cap(bufs.args)])
		clear(bufs.rowArgs[:cap(bufs.rowArgs)])
		db.bufs.Put(bufs)
	}()
	tx := &wtx{conn: conn, stmts: db.stmts, begun: ctx, txBuffers: bufs}
	if err := fn(tx); err != nil {
		return diskFull(err)
	}
	if err := tx.live(ctx); err != nil {
		return err
	}
	open = false
	return diskFull(conn.Raw(func(dc any) error {
		if err := txControl(dc, qCommit); err != nil {
			// A COMMIT that fails (a full disk, an I/O error) may leave
			// the transaction open.
			return errors.Join(err, rollback(dc))
		}
		return nil
	}))
}

// txControl runs BEGIN IMMEDIATE, COMMIT or ROLLBACK on the write
// connection dc, prepared once for its life like the hot queries.
func txControl(dc any, query string) error {
	wc, ok := dc.(*writeConn)
	if !ok {
		return fmt.Errorf("storage: the write connection is a %T, not a writeConn", dc)
	}
	ctx := context.Background() // never interrupted (see wtx)
	if st := wc.prepared(ctx, query); st != nil {
		_, err := st.ExecContext(ctx, nil)
		return err
	}
	_, err := wc.ExecContext(ctx, query, nil)
	return err
}

// rollback ends the transaction open on dc, if one is. A ROLLBACK that
// fails (SQLite has rolled back already, after a full disk or an I/O
// error) makes database/sql close the connection rather than keep it: a
// new one certainly holds no transaction.
func rollback(dc any) error {
	if txControl(dc, qRollback) != nil {
		return driver.ErrBadConn
	}
	return nil
}

// nextID is the id the next row of table gets, so that its sealed values
// can name their row before it exists. BEGIN IMMEDIATE holds the
// database's write lock, so nobody else numbers rows while tx runs: the
// first call reads every id-numbered table's highest id in one query, and
// later ones count on from there. The next transaction reads afresh (another
// process may have written in between).
func (tx *wtx) nextID(ctx context.Context, table string) (int64, error) {
	i := 0
	for i < len(idTables) && idTables[i] != table {
		i++
	}
	if i == len(idTables) {
		return 0, fmt.Errorf("storage: table %s is not numbered by nextID", table)
	}
	if !tx.idsRead {
		var dest [len(idTables)]any
		for j := range dest {
			dest[j] = &tx.lastID[j]
		}
		if err := tx.queryRow(ctx, qMaxIDs).Scan(dest[:]...); err != nil {
			return 0, err
		}
		tx.idsRead = true
	}
	tx.lastID[i]++
	return tx.lastID[i], nil
}

// reportByHash runs qReportByHash into found and sameMessageID; the first
// time in tx, it reads the highest ids for nextID as well, in the same
// query (a new report is numbered next).
func (tx *wtx) reportByHash(ctx context.Context, hash string, mid any, found, sameMessageID *sql.NullInt64) error {
	if tx.idsRead {
		return tx.queryRow(ctx, qReportByHash, hash, mid).Scan(found, sameMessageID)
	}
	var dest [len(idTables) + 2]any
	for j := range tx.lastID {
		dest[j] = &tx.lastID[j]
	}
	dest[len(idTables)], dest[len(idTables)+1] = found, sameMessageID
	if err := tx.queryRow(ctx, qReportByHashMaxIDs, hash, mid).Scan(dest[:]...); err != nil {
		return err
	}
	tx.idsRead = true
	return nil
}

// insertRows runs ins for the rows whose values are in args (ins.width
// each, in order), maxRowsPerInsert rows per statement.
func (tx *wtx) insertRows(ctx context.Context, ins *rowsInsert, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/ins.width, maxRowsPerInsert)
		if n == 0 {
			return fmt.Errorf("storage: %d values do not make rows of %d", len(args), ins.width)
		}
		if _, err := tx.exec(ctx, ins.byRows[n-1], args[:n*ins.width]...); err != nil {
			return err
		}
		args = args[n*ins.width:]
	}
	return nil
}

// exec runs query in tx, on its prepared statement if it is a hot one.
func (tx *wtx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res driver.Result
	prepared := false
	err := tx.conn.Raw(func(dc any) error {
		st := tx.prepared(ctx, dc, query)
		if prepared = st != nil; !prepared {
			return nil
		}
		if err := tx.live(ctx); err != nil {
			return err
		}
		named, err := tx.named(args)
		if err != nil {
			return err
		}
		res, err = st.ExecContext(tx.uncancelled(ctx), named)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !prepared {
		tx.stmts.unprepared.Add(1)
		return tx.ExecContext(ctx, query, args...)
	}
	return res, nil
}

// queryRow is exec for a query returning one row.
func (tx *wtx) queryRow(ctx context.Context, query string, args ...any) row {
	var r row
	prepared := false
	err := tx.conn.Raw(func(dc any) error {
		st := tx.prepared(ctx, dc, query)
		if prepared = st != nil; !prepared {
			return nil
		}
		if err := tx.live(ctx); err != nil {
			return err
		}
		named, err := tx.named(args)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(tx.uncancelled(ctx), named)
		if err != nil {
			return err
		}
		r.vals = make([]driver.Value, len(rows.Columns()))
		err = rows.Next(r.vals)
		if err == io.EOF {
			r.vals, r.err, err = nil, sql.ErrNoRows, nil
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		return err
	})
	switch {
	case err != nil:
		return row{err: err}
	case !prepared:
		tx.stmts.unprepared.Add(1)
		return tx.QueryRowContext(ctx, query, args...)
	}
	return r
}

// ExecContext runs query in tx unprepared (exec runs a hot one prepared).
func (tx *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := tx.live(ctx); err != nil {
		return nil, err
	}
	return tx.conn.ExecContext(tx.uncancelled(ctx), query, args...)
}

// QueryContext runs query in tx unprepared. Its rows must be closed before
// fn returns.
func (tx *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := tx.live(ctx); err != nil {
		return nil, err
	}
	return tx.conn.QueryContext(tx.uncancelled(ctx), query, args...)
}

// QueryRowContext runs query in tx unprepared.
func (tx *wtx) QueryRowContext(ctx context.Context, query string, args ...any) row {
	if err := tx.live(ctx); err != nil {
		return row{err: err}
	}
	return row{fallback: tx.conn.QueryRowContext(tx.uncancelled(ctx), query, args...)}
}

// PrepareContext prepares query on tx's connection; run it with execStmt.
func (tx *wtx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if err := tx.live(ctx); err != nil {
		return nil, err
	}
	return tx.conn.PrepareContext(tx.uncancelled(ctx), query)
}

// execStmt runs st, from PrepareContext, in tx.
func (tx *wtx) execStmt(ctx context.Context, st *sql.Stmt, args ...any) (sql.Result, error) {
	if err := tx.live(ctx); err != nil {
		return nil, err
	}
	return st.ExecContext(tx.uncancelled(ctx), args...)
}

// prepared is query's statement on the write connection dc (nil: run it
// unprepared).
func (tx *wtx) prepared(ctx context.Context, dc any, query string) driverStmt {
	if wc, ok := dc.(*writeConn); ok {
		return wc.prepared(ctx, query)
	}
	return nil
}

// live reports whether a statement run with ctx may run in the
// transaction: neither ctx nor the transaction's own context has ended.
// The statement itself then runs without ctx's cancellation (see wtx):
// the transaction holds the write lock, so it waits for nobody, and the
// driver would start a goroutine for every statement to interrupt it.
func (tx *wtx) live(ctx context.Context) error {
	if err := tx.begun.Err(); err != nil {
		return fmt.Errorf("%w: %w", sql.ErrTxDone, err)
	}
	return ctx.Err()
}

// uncancelled is ctx without its cancellation (see live).
func (tx *wtx) uncancelled(ctx context.Context) context.Context {
	if ctx != tx.of {
		tx.of, tx.quiet = ctx, context.WithoutCancel(ctx)
	}
	return tx.quiet
}

// named converts args as database/sql would, into a buffer reused by
// every statement of tx (the driver is done with it when the statement
// returns).
func (tx *wtx) named(args []any) ([]driver.NamedValue, error) {
	tx.args = tx.args[:0]
	for i, a := range args {
		switch a.(type) {
		case nil, int64, float64, bool, []byte, string:
		default:
			v, err := driver.DefaultParameterConverter.ConvertValue(a)
			if err != nil {
				return nil, fmt.Errorf("sql: converting argument $%d type: %w", i+1, err)
			}
			a = v
		}
		tx.args = append(tx.args, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	return tx.args, nil
}

// row is the one row of wtx.queryRow, or its error (sql.ErrNoRows when
// there was none). Scan converts the driver's values into the kinds of
// destination storage reads, as database/sql's Row.Scan would.
type row struct {
	vals     []driver.Value
	err      error
	fallback *sql.Row // the query ran through database/sql
}

func (r row) Scan(dest ...any) error {
	if r.fallback != nil {
		return r.fallback.Scan(dest...)
	}
	if r.err != nil {
		return r.err
	}
	if len(dest) != len(r.vals) {
		return fmt.Errorf("sql: expected %d destination arguments in Scan, not %d", len(r.vals), len(dest))
	}
	for i, d := range dest {
		if err := assign(d, r.vals[i]); err != nil {
			return fmt.Errorf("sql: Scan error on column index %d: %w", i, err)
		}
	}
	return nil
}

// assign stores the driver's value v (int64, float64, bool, []byte,
// string or nil: modernc.org/sqlite's blobs are fresh copies) into dest.
func assign(dest any, v driver.Value) error {
	switch d := dest.(type) {
	case *int64:
		if x, ok := v.(int64); ok {
			*d = x
			return nil
		}
	case *int:
		if x, ok := v.(int64); ok {
			*d = int(x)
			return nil
		}
	case *float64:
		switch x := v.(type) {
		case float64:
			*d = x
			return nil
		case int64:
			*d = float64(x)
			return nil
		}
	case *bool:
		switch x := v.(type) {
		case int64:
			*d = x != 0
			return nil
		case bool:
			*d = x
			return nil
		}
	case *string:
		switch x := v.(type) {
		case string:
			*d = x
			return nil
		case []byte:
			*d = string(x)
			return nil
		}
	case *[]byte:
		switch x := v.(type) {
		case []byte:
			*d = x
			return nil
		case string:
			*d = []byte(x)
			return nil
		case nil:
			*d = nil
			return nil
		}
	case sql.Scanner:
		return d.Scan(v)
	}
	return fmt.Errorf("storage: cannot store %T into %T", v, dest)
}
