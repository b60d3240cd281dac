package storage

// UnpreparedForTest is how many statements ran in a write transaction
// without a prepared statement (see stmts).
func (db *DB) UnpreparedForTest() int64 { return db.stmts.unprepared.Load() }
