package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// openTx opens a fresh database in a test's directory, closed after it.
func openTx(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "tx.db"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// readIDs runs query, which reads one integer a row.
func readIDs(t *testing.T, db *DB, query string) []int64 {
	t.Helper()
	rows, err := db.read.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// statementKinds are every way a statement runs in a write transaction:
// the hot ones on the connection's prepared statements, any other
// through the *sql.Conn. TestStatementKindsAreAllListed keeps the list
// whole.
var statementKinds = map[string]func(ctx context.Context, tx *wtx, id int64) error{
	"exec (hot)": func(ctx context.Context, tx *wtx, id int64) error {
		_, err := tx.exec(ctx, qInsertReport, id, int64(1), "pipe", nil, fmt.Sprint("hash", id), []byte("raw"), false, nil)
		return err
	},
	"queryRow (hot)": func(ctx context.Context, tx *wtx, id int64) error {
		var got int64
		return tx.queryRow(ctx, `INSERT INTO reports(id, received_at, source, sha256, raw) VALUES (?, 1, 'pipe', ?, 'raw') RETURNING id`,
			id, fmt.Sprint("hash", id)).Scan(&got)
	},
	"ExecContext": func(ctx context.Context, tx *wtx, id int64) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO reports(id, received_at, source, sha256, raw) VALUES (?, 1, 'pipe', ?, 'raw')`, id, fmt.Sprint("hash", id))
		return err
	},
	"QueryContext": func(ctx context.Context, tx *wtx, id int64) error {
		rows, err := tx.QueryContext(ctx, `INSERT INTO reports(id, received_at, source, sha256, raw) VALUES (?, 1, 'pipe', ?, 'raw') RETURNING id`, id, fmt.Sprint("hash", id))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	},
	"QueryRowContext": func(ctx context.Context, tx *wtx, id int64) error {
		var got int64
		return tx.QueryRowContext(ctx, `INSERT INTO reports(id, received_at, source, sha256, raw) VALUES (?, 1, 'pipe', ?, 'raw') RETURNING id`,
			id, fmt.Sprint("hash", id)).Scan(&got)
	},
	"PrepareContext": func(ctx context.Context, tx *wtx, id int64) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO reports(id, received_at, source, sha256, raw) VALUES (?, 1, 'pipe', ?, 'raw')`)
		if err != nil {
			return err
		}
		defer st.Close()
		_, err = tx.execStmt(ctx, st, id, fmt.Sprint("hash", id))
		return err
	},
}

// TestStatementKindsAreAllListed: every exported method of wtx runs a
// statement, and is one of statementKinds.
func TestStatementKindsAreAllListed(t *testing.T) {
	typ := reflect.TypeFor[*wtx]()
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if _, ok := statementKinds[name]; !ok {
			t.Errorf("wtx.%s is not in statementKinds: test it with the others", name)
		}
	}
}

// TestStatementsAfterTheTransactionEnded: no statement is interrupted in
// a write transaction (wtx), so once its context has ended every kind of
// statement must refuse to run rather than write in a transaction about
// to be rolled back (or, had SQLite rolled it back, outside it), whatever
// context the statement itself was given; and nothing commits.
func TestStatementsAfterTheTransactionEnded(t *testing.T) {
	db := openTx(t)
	id := int64(0)
	for kind, run := range statementKinds {
		for _, stmtCtx := range []string{"its own", "the transaction's"} {
			t.Run(kind+"/"+stmtCtx, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				err := db.inTx(ctx, func(tx *wtx) error {
					id++
					if err := run(ctx, tx, id); err != nil {
						return err
					}
					cancel()
					sctx := context.Background()
					if stmtCtx == "the transaction's" {
						sctx = ctx
					}
					id++
					if err := run(sctx, tx, id); err == nil {
						t.Error("a statement ran after the transaction's context ended")
					} else if !errors.Is(err, context.Canceled) {
						t.Errorf("error %v, want one wrapping context.Canceled", err)
					}
					return nil
				})
				if err == nil {
					t.Error("the transaction committed after its context ended")
				}
				var n int
				if err := db.read.QueryRow(`SELECT COUNT(*) FROM reports`).Scan(&n); err != nil || n != 0 {
					t.Fatalf("%d reports stored (%v), want none", n, err)
				}
			})
		}
	}
	// And each commits in a live transaction.
	for kind, run := range statementKinds {
		id++
		if err := db.inTx(context.Background(), func(tx *wtx) error { return run(context.Background(), tx, id) }); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var n int
		if err := db.read.QueryRow(`SELECT COUNT(*) FROM reports WHERE id = ?`, id).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s: report %d stored %d times (%v), want once", kind, id, n, err)
		}
	}
	var found, same sql.NullInt64
	if err := db.inTx(context.Background(), func(tx *wtx) error {
		return tx.queryRow(context.Background(), qReportByHash, fmt.Sprint("hash", id), nil).Scan(&found, &same)
	}); err != nil || found.Int64 != id || same.Valid {
		t.Fatalf("report by hash: %v %v (%v), want %d and none", found, same, err, id)
	}
	var incident int64
	if err := db.inTx(context.Background(), func(tx *wtx) error {
		return tx.queryRow(context.Background(), qFollowUpOf, id).Scan(&incident)
	}); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no row: %v, want sql.ErrNoRows", err)
	}
}

// TestAFailedCommitRollsBack: a COMMIT that fails leaves SQLite's
// transaction open (here a deferred foreign key, as a full disk would);
// inTx rolls it back, so nothing of it stays and the next transaction
// runs on a clean connection.
func TestAFailedCommitRollsBack(t *testing.T) {
	db := openTx(t)
	ctx := context.Background()
	err := db.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return err
		}
		if err := statementKinds["exec (hot)"](ctx, tx, 1); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO events(incident_id, at, actor, platform, kind, details) VALUES (999, 1, 'a', 'console', 'note', '')`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("commit: %v, want a foreign key failure", err)
	}
	if err := db.inTx(ctx, func(tx *wtx) error { return statementKinds["exec (hot)"](ctx, tx, 2) }); err != nil {
		t.Fatalf("the next transaction: %v", err)
	}
	if ids := readIDs(t, db, `SELECT id FROM reports UNION ALL SELECT -id FROM events ORDER BY 1`); len(ids) != 1 || ids[0] != 2 {
		t.Errorf("rows %v, want only report 2 (the failed commit's rolled back)", ids)
	}
}

// TestWriteTransactionWatchesNoContext: a write transaction given a
// context that can end starts no goroutine to watch it (database/sql's
// Tx and the driver's BEGIN and COMMIT each would: a thread woken per
// message on intake's path), whichever kind of statement it runs.
func TestWriteTransactionWatchesNoContext(t *testing.T) {
	db := openTx(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	id := int64(0)
	for range 3 {
		err := db.inTx(ctx, func(tx *wtx) error {
			for kind, run := range statementKinds {
				id++
				if err := run(ctx, tx, id); err != nil {
					return fmt.Errorf("%s: %w", kind, err)
				}
				buf := make([]byte, 1<<20)
				stacks := string(buf[:runtime.Stack(buf, true)])
				for _, watcher := range []string{"database/sql.(*Tx).awaitDone", "modernc.org/sqlite.interruptOnDone"} {
					if strings.Contains(stacks, watcher) {
						t.Errorf("after %s: a goroutine runs %s", kind, watcher)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseAfterACancelledTransaction: the write connection whose
// transaction was rolled back for its ended context closes cleanly, its
// prepared statements finalized with it, never after (the driver frees a
// closed connection's state: finalizing then crashed).
func TestCloseAfterACancelledTransaction(t *testing.T) {
	for i := range 10 {
		db, err := Open(context.Background(), filepath.Join(t.TempDir(), "tx.db"), quiet())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err = db.inTx(ctx, func(tx *wtx) error {
			if _, err := tx.nextID(ctx, "reports"); err != nil { // prepares qMaxIDs
				return err
			}
			cancel()
			return ctx.Err()
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("round %d: closing: %v", i, err)
		}
	}
}

// TestPanicInATransaction: a transaction whose function panics is rolled
// back and its connection returned, so the next one runs (a recovered
// panic must not leave the single write connection taken for ever).
func TestPanicInATransaction(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "tx.db"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	// Closed only if the test gets through: Close would wait for ever on
	// a connection left taken.
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		func() {
			defer func() { recover() }()
			db.inTx(ctx, func(tx *wtx) error {
				if _, err := tx.exec(ctx, qInsertReport, int64(1), int64(1), "pipe", nil, "h1", []byte("raw"), false, nil); err != nil {
					t.Error(err)
				}
				panic("a bug")
			})
		}()
		done <- db.inTx(ctx, func(tx *wtx) error {
			_, err := tx.exec(ctx, qInsertReport, int64(2), int64(1), "pipe", nil, "h2", []byte("raw"), false, nil)
			return err
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write connection stayed taken after a panic")
	}
	if ids := readIDs(t, db, `SELECT id FROM reports ORDER BY id`); len(ids) != 1 || ids[0] != 2 {
		t.Errorf("reports %v, want only 2 (the panicking transaction's rolled back)", ids)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBoxKeepsValues: box gives back the string it was given, whether it
// keeps it (the first maxBoxes short ones), not (past that, or too long)
// or has no buffers to keep it in.
func TestBoxKeepsValues(t *testing.T) {
	b := &txBuffers{}
	long := strings.Repeat("x", 65)
	for round := range 2 {
		for i := range maxBoxes + 10 {
			s := fmt.Sprintf("value %d", i)
			if v := b.box(s); v != any(s) {
				t.Fatalf("round %d: box(%q) = %v", round, s, v)
			}
		}
		if v := b.box(long); v != any(long) {
			t.Fatalf("box of a long value = %v", v)
		}
	}
	if len(b.boxes) != maxBoxes {
		t.Errorf("kept %d values, want %d", len(b.boxes), maxBoxes)
	}
	if v := (*txBuffers)(nil).box("irc"); v != any("irc") {
		t.Errorf("nil buffers box to %v", v)
	}
}
