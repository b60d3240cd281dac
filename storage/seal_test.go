package storage_test

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

var testKey = sync.OnceValues(func() (*teamkey.Key, error) {
	return teamkey.Generate("Test Security Team", "security@example.org", time.Now())
})

// openSealed opens a database as sectriage does: unlocked with the team
// key, so every storage test runs against sealed values.
func openSealed(ctx context.Context, path string, log *slog.Logger) (*storage.DB, error) {
	db, err := storage.Open(ctx, path, log)
	if err != nil {
		return nil, err
	}
	key, err := testKey()
	if err == nil {
		err = db.Unlock(ctx, key)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
