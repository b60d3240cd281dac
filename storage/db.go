// Package storage keeps sectriage's state in one SQLite file (WAL mode),
// with embedded, versioned migrations. It implements the store interfaces
// that package bot declares.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sectriage/sectriage/bot"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the SQLite store. Writes go through a single connection with
// BEGIN IMMEDIATE, so concurrent updates queue instead of failing with
// SQLITE_BUSY on a read→write lock upgrade; reads use a pool.
type DB struct {
	write *sql.DB
	read  *sql.DB
	path  string
	log   *slog.Logger
	// sealer seals confidential values (seal.go); nil until Unlock.
	sealer *sealer
	// keyed: the database holds a data key, so its confidential values
	// are sealed and none may be written or read without it.
	keyed bool
	// stmts says which queries the write connection keeps prepared (stmts.go).
	stmts *stmts
	// bufs holds *txBuffers: one write transaction at a time uses one.
	bufs sync.Pool
}

var (
	_ bot.IncidentStore = (*DB)(nil)
	_ bot.OutboxStore   = (*DB)(nil)
	_ bot.DeferrerStore = (*DB)(nil)
	_ bot.ResumerStore  = (*DB)(nil)
)

// Open opens (creating if needed) the database at path and applies
// pending migrations.
func Open(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	if path == "" {
		return nil, errors.New("storage: no database path configured ([storage] path)")
	}
	dsn := func(txlock string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(FULL)")
		// Deleted and overwritten values are zeroed, not left in free space.
		q.Add("_pragma", "secure_delete(1)")
		q.Set("_txlock", txlock)
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}
	if err := privateFiles(path); err != nil {
		return nil, err
	}
	stmts := newStmts(hotQueries, log)
	write, err := openWrite(dsn("immediate"), stmts)
	if err != nil {
		return nil, fmt.Errorf("storage: opening %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("storage: opening %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	db := &DB{write: write, read: read, path: path, log: log, stmts: stmts}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, diskFull(err)
	}
	if db.keyed, err = hasDataKey(db.write.QueryRowContext(ctx, qCountDataKeys)); err != nil {
		db.Close()
		return nil, diskFull(fmt.Errorf("storage: %s: %w", path, err))
	}
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.write.Close())
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Ping checks that the database answers and that its file is writable:
// it rewrites one row of the main database (a temporary table would live
// elsewhere and prove nothing about a full disk or a read-only file).
func (db *DB) Ping(ctx context.Context) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO health_probe(id, checked_at) VALUES (1, ?)
		ON CONFLICT(id) DO UPDATE SET checked_at = excluded.checked_at`, time.Now().UnixMilli())
	return err
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("storage: migration %s must be named NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("storage: two migrations numbered %d", out[i].version)
		}
	}
	return out, nil
}

// migrate applies each pending migration in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("storage: %s: %w", db.path, err)
	}
	list, err := migrations()
	if err != nil {
		return err
	}
	var current int
	if err := db.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("storage: reading schema version: %w", err)
	}
	if n := len(list); n > 0 && current > list[n-1].version {
		return fmt.Errorf("storage: %s has schema version %d, newer than this sectriage knows (%d); use a newer binary", db.path, current, list[n-1].version)
	}
	// Apply every migration not yet recorded, not only those above the
	// highest: branches number their migrations ahead of each other (0004
	// may be merged before 0002), and a database that ran 0004 first must
	// still get 0002 later.
	applied := map[int]bool{}
	rows, err := db.write.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("storage: reading applied migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	for _, m := range list {
		if applied[m.version] {
			continue
		}
		err := db.inTx(ctx, func(tx *wtx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("storage: migration %s: %w", m.name, err)
		}
		db.log.Info("applied migration", "migration", m.name)
	}
	return nil
}

// SchemaVersion returns the highest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// diskFull gives an error of SQLite's for a full disk a message the user
// may see (bot.KindUnavailable), keeping SQLite's for the log: otherwise
// a full disk reads as "internal error" in chat. SQLITE_IOERR_SHMSIZE is
// the same disk failing earlier: a process opening the database cannot
// make room for its shared-memory index (the -shm file).
func diskFull(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) || (se.Code()&0xff != sqlite3.SQLITE_FULL && se.Code() != sqlite3.SQLITE_IOERR_SHMSIZE) {
		return err
	}
	return errors.Join(bot.Errorf(bot.KindUnavailable, "the disk holding the database is full: nothing was changed; try again once space is freed"), err)
}

// IsBusy reports whether err is SQLite's "database is locked".
func IsBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}
