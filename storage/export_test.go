package storage

import "context"

// ExecForTest runs raw SQL on the write connection, for tests that check
// what the schema itself refuses.
func (db *DB) ExecForTest(ctx context.Context, q string) error {
	_, err := db.write.ExecContext(ctx, q)
	return err
}
