package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

// fixtureKey is one team key for the tests that do not care which: every
// command needs one, since the database is sealed with it.
var fixtureKey = sync.OnceValues(func() (*teamkey.Key, error) {
	return teamkey.Generate("Test Team", "security@example.org", time.Now().Add(-time.Hour))
})

// withTeamKey writes the fixture team key (no passphrase, mode 0600) into
// dir as team.asc and returns config with a [keys] section naming it.
func withTeamKey(t testing.TB, dir, cfg string) string {
	t.Helper()
	key, err := fixtureKey()
	if err != nil {
		t.Fatal(err)
	}
	armored, err := key.ArmoredSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "team.asc"), armored, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg + "\n[keys]\nteam_key_file = \"team.asc\"\n"
}

// openStateDB opens the database of the config at cfgPath as sectriage
// does: unlocked with the config's team key.
func openStateDB(t testing.TB, cfgPath string) *storage.DB {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := loadTeamKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDatabase(context.Background(), cfg, key, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	return db
}
