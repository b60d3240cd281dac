package storage

import (
	"context"
	"database/sql"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// ExecForTest runs raw SQL on the write connection, for tests that check
// what the schema itself refuses.
func (db *DB) ExecForTest(ctx context.Context, q string) error {
	_, err := db.write.ExecContext(ctx, q)
	return err
}

// BulkCreateForBench stores many incidents in one transaction: seeding
// 100,000 incidents one commit at a time would measure fsync, not the
// query under test.
func (db *DB) BulkCreateForBench(ctx context.Context, incs []*bot.Incident) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		cols := strings.TrimPrefix(incidentColumns, "id, ")
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO incidents(`+cols+`) VALUES (`+placeholders(27-1)+`)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, inc := range incs {
			vals, err := db.incidentValues(inc)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, vals...); err != nil {
				return err
			}
		}
		return nil
	})
}
