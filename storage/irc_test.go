package storage_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

func TestIRCIncidentChannels(t *testing.T) {
	db, path := openDB(t)
	ctx := context.Background()
	svc, _ := newService(t, db)
	var ids []int64
	for range 2 {
		inc, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inc.ID)
	}
	if name, _, _, err := db.IRCIncidentChannel(ctx, ids[0]); err != nil || name != "" {
		t.Fatalf("before: %q, %v", name, err)
	}
	const key = "k3y-of-the-channel"
	if ok, err := db.SetIRCIncidentChannel(ctx, ids[0], "#sec-1", key, t0); err != nil || !ok {
		t.Fatalf("set = %v, %v", ok, err)
	}
	// A second choice for the same incident, or the same name for another,
	// loses: the first stands.
	if ok, err := db.SetIRCIncidentChannel(ctx, ids[0], "#sec-other", "x", t0); err != nil || ok {
		t.Fatalf("second set = %v, %v", ok, err)
	}
	if ok, err := db.SetIRCIncidentChannel(ctx, ids[1], "#sec-1", "x", t0); err != nil || ok {
		t.Fatalf("taken name = %v, %v", ok, err)
	}
	name, k, archived, err := db.IRCIncidentChannel(ctx, ids[0])
	if err != nil || name != "#sec-1" || k != key || archived {
		t.Fatalf("got %q %q %v %v", name, k, archived, err)
	}
	if live, err := db.IRCLiveChannels(ctx); err != nil || len(live) != 1 || live[ids[0]] != "#sec-1" {
		t.Fatalf("live = %v, %v", live, err)
	}
	if err := db.ArchiveIRCIncidentChannel(ctx, ids[0], t0); err != nil {
		t.Fatal(err)
	}
	if _, _, archived, _ := db.IRCIncidentChannel(ctx, ids[0]); !archived {
		t.Fatal("not archived")
	}
	if live, _ := db.IRCLiveChannels(ctx); len(live) != 0 {
		t.Fatalf("live after archiving = %v", live)
	}
	// The key opens the channel: it is sealed at rest.
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var stored []byte
	if err := raw.QueryRow(`SELECT key FROM irc_channels`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), key) {
		t.Fatal("the channel key is stored in the clear")
	}
}
