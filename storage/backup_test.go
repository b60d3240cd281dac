package storage_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// TestBackupUnderWriteLoad backs up while commands keep writing, then
// checks the copy: intact, and holding every incident and event that was
// committed before the backup began.
func TestBackupUnderWriteLoad(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	settings := testSettings(t)
	svc := bot.NewService(db, bot.SystemClock{}, discard(), settings)
	for i := 0; i < 200; i++ {
		if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: fmt.Sprint("seed ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	before, err := db.Events(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}

	stop, busy := make(chan struct{}), make(chan struct{})
	var busyOnce sync.Once
	var writes atomic.Int64
	var wg sync.WaitGroup
	erin := bot.Actor{Person: settings.People.ByName("erin"), Platform: bot.PlatformCLI}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "during backup"}); err != nil {
					t.Error(err)
					return
				}
				if _, err := svc.AddNote(ctx, erin, bot.Member, int64(1+i%200), "busy"); err != nil {
					t.Error(err)
					return
				}
				if writes.Add(2) >= 20 {
					busyOnce.Do(func() { close(busy) })
				}
			}
		}()
	}
	<-busy // the writers are going; back up in the middle of them
	dest := filepath.Join(t.TempDir(), "backup.db")
	info, err := db.Backup(ctx, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if info.Incidents < 200 || info.Events < 400 {
		t.Fatalf("backup holds %d incidents, %d events; want at least the 200 seeded and their events", info.Incidents, info.Events)
	}
	t.Logf("backup: %d incidents, %d events, %d bytes, %d writes ran beside it", info.Incidents, info.Events, info.Bytes, writes.Load())

	// The copy opens as a sectriage database and reads like the original.
	copyDB, err := openSealed(ctx, dest, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	got, err := copyDB.Events(ctx, 1)
	if err != nil || len(got) < len(before) || got[0].Kind != bot.EventCreated {
		t.Fatalf("events of SEC-1 in the copy: %+v, %v", got, err)
	}
	// Every incident in the copy has its creation event: no torn snapshot.
	raw, _ := sql.Open("sqlite", "file:"+dest+"?mode=ro")
	defer raw.Close()
	var orphans int
	raw.QueryRow(`SELECT COUNT(*) FROM incidents i WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.incident_id = i.id AND e.kind = 'created')`).Scan(&orphans)
	if orphans != 0 {
		t.Fatalf("%d incidents in the copy lack their creation event", orphans)
	}
	if _, err := db.Backup(ctx, dest); err == nil {
		t.Fatal("backup over an existing file succeeded")
	}
}
