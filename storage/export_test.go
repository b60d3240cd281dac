package storage

import (
	"context"
	"database/sql"

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
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO incidents(`+incidentColumns+`) VALUES (`+placeholders(27)+`)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		next, err := db.nextID(ctx, tx, "incidents")
		if err != nil {
			return err
		}
		for _, inc := range incs {
			inc.ID, next = next, next+1
			vals, err := db.incidentValues(inc)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, append([]any{inc.ID}, vals...)...); err != nil {
				return err
			}
		}
		return nil
	})
}
