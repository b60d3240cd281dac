package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatementsAfterTheTransactionEnded: the hot statements run on the
// connection directly (wtx), so once database/sql has rolled the
// transaction back (its context ended) they must refuse to run rather
// than write outside it, whatever context the statement itself was given.
func TestStatementsAfterTheTransactionEnded(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "tx.db"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insert := func(ctx context.Context, tx *wtx, id int64) error {
		_, err := tx.exec(ctx, qInsertReport, id, int64(1), "pipe", nil, "hash"+string(rune('0'+id)), []byte("raw"), false, nil)
		return err
	}
	for _, stmtCtx := range []string{"its own", "the transaction's"} {
		t.Run(stmtCtx, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			err := db.inTx(ctx, func(tx *wtx) error {
				if err := insert(ctx, tx, 1); err != nil {
					return err
				}
				cancel()
				// The transaction is rolled back (or about to be): this
				// insert must not happen, in it or on its own.
				sctx := context.Background()
				if stmtCtx == "the transaction's" {
					sctx = ctx
				}
				if err := insert(sctx, tx, 2); err == nil {
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
	// And the same statements commit in a live transaction.
	if err := db.inTx(context.Background(), func(tx *wtx) error { return insert(context.Background(), tx, 3) }); err != nil {
		t.Fatal(err)
	}
	var id, same sql.NullInt64
	if err := db.inTx(context.Background(), func(tx *wtx) error {
		return tx.queryRow(context.Background(), qReportByHash, "hash3", nil).Scan(&id, &same)
	}); err != nil || id.Int64 != 3 || same.Valid {
		t.Fatalf("report by hash: %v %v (%v), want 3 and none", id, same, err)
	}
	var incident int64
	if err := db.inTx(context.Background(), func(tx *wtx) error {
		return tx.queryRow(context.Background(), qFollowUpOf, int64(3)).Scan(&incident)
	}); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no row: %v, want sql.ErrNoRows", err)
	}
}

// TestCloseAfterACancelledTransaction: database/sql closes the write
// connection after rolling back a transaction whose context ended; the
// statements prepared on it are finalized with it, never after (the
// driver frees a closed connection's state: finalizing then crashed).
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
	var ids []int64
	rows, err := db.read.Query(`SELECT id FROM reports ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if len(ids) != 1 || ids[0] != 2 {
		t.Errorf("reports %v, want only 2 (the panicking transaction's rolled back)", ids)
	}
	rows.Close()
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
