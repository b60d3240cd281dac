package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
)

// OpenMemory opens a new, empty database that lives in memory only, with
// the same schema and the same two pools as Open, for tests that make a
// fresh world per input (the fuzzers): no file to create, sync or remove.
// It uses SQLite's memdb VFS, which shares one database between the
// connections of this process with ordinary locking (unlike shared-cache
// ":memory:"), and is gone when the DB is closed. There is no WAL: readers
// wait for a writer instead of reading beside it, which a test does not
// notice.
func OpenMemory(ctx context.Context, log *slog.Logger) (*DB, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	name := "/sectriage-" + hex.EncodeToString(id[:])
	dsn := func(txlock string) string {
		q := url.Values{}
		q.Set("vfs", "memdb")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", txlock)
		return "file:" + name + "?" + q.Encode()
	}
	stmts := newStmts(hotQueries, log)
	write, err := openWrite(dsn("immediate"), stmts)
	if err != nil {
		return nil, fmt.Errorf("storage: opening %s in memory: %w", name, err)
	}
	// The database lives as long as a connection holds it: keep the
	// writer's open for the life of the DB.
	write.SetConnMaxLifetime(0)
	write.SetMaxIdleConns(1)
	read, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("storage: opening %s in memory: %w", name, err)
	}
	read.SetMaxOpenConns(4)
	db := &DB{write: write, read: read, path: "memory:" + name, log: log, stmts: stmts}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
