package storage

import (
	"context"
	"time"
)

// WatchCommits calls changed each time another process (`sectriage
// ingest`, `sectriage cmd`) has committed to the database, looking every
// interval, until ctx ends. It asks SQLite's data_version, which moves
// only for commits made through other connections: the daemon's own
// writes all go through the write connection that is asked, so they do
// not count. A cheap pragma a few times a second lets the daemon post what
// another process queued within a fraction of a second, where reading the
// outbox itself that often would cost far more.
func (db *DB) WatchCommits(ctx context.Context, interval time.Duration, changed func()) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var last int64
	known := false
	for {
		var v int64
		err := db.write.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			db.log.Warn("cannot watch the database for other processes' commits; what `sectriage ingest` and `sectriage cmd` queue is posted at the outbox's next idle look (2 s) instead",
				"err", err)
			known = false
		case known && v != last:
			changed()
			last = v
		default:
			last, known = v, true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}
