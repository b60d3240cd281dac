package storage_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

// TestDiscussionSurvivesARestart: what was said in an incident's channels
// is read back, sealed at rest, by the next process; its relays are queued
// in the same transaction.
func TestDiscussionSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	svc, _ := newService(t, db)
	st := *svc.Settings()
	st.Platforms = []string{bot.PlatformIRC, bot.PlatformMattermost}
	st.Bridge = st.Platforms
	svc.SetSettings(&st)
	inc, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	alice := bot.Actor{Person: st.People.ByName("alice"), Platform: bot.PlatformIRC}
	const said = "the heap is corrupted in parse_header"
	if err := svc.Discuss(ctx, alice, inc.ID, bot.Said{Text: said, Relay: true}); err != nil {
		t.Fatal(err)
	}
	queued, err := db.DueMessagesWhere(ctx, bot.OutboxFilter{Platforms: []string{bot.PlatformMattermost}}, t0.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	relays := 0
	for _, m := range queued {
		if m.Kind == bot.MessageRelay && bot.RenderPlain(m.Text) == "alice (irc): "+said {
			relays++
		}
	}
	if relays != 1 {
		t.Fatalf("%d relays queued for Mattermost, want 1", relays)
	}
	db.Close()

	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM events WHERE kind = 'discussion' AND CAST(details AS TEXT) LIKE '%heap is corrupted%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the discussion is stored in the clear (%d rows, %v)", n, err)
	}
	raw.Close()

	db2, err := openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	svc2, _ := newService(t, db2)
	_, events, err := svc2.Timeline(ctx, alice, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := bot.Discussion(events); len(got) != 1 || got[0].Details != said || got[0].Actor != "alice" {
		t.Fatalf("after the restart: %+v", got)
	}
}

// TestRelayRules: a relay is queued only for a message said where the
// rule allowed it, from a bridged platform, to the other bridged ones; a
// long paste is cut on a character boundary to a few lines.
func TestRelayRules(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	svc, _ := newService(t, db)
	st := *svc.Settings()
	st.Platforms = []string{bot.PlatformIRC, bot.PlatformMattermost, bot.PlatformConsole}
	st.Bridge = []string{bot.PlatformIRC, bot.PlatformMattermost}
	svc.SetSettings(&st)
	inc, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	relays := func() []bot.OutboxMessage {
		all, err := db.DueMessagesWhere(ctx, bot.OutboxFilter{}, t0.Add(time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		var out []bot.OutboxMessage
		for _, m := range all {
			if m.Kind == bot.MessageRelay {
				out = append(out, m)
			}
		}
		return out
	}
	alice := st.People.ByName("alice")
	onIRC := bot.Actor{Person: alice, Platform: bot.PlatformIRC}
	for _, tc := range []struct {
		a    bot.Actor
		said bot.Said
	}{
		{onIRC, bot.Said{Text: "an outsider was in the channel", Relay: false}},
		{bot.Actor{Person: alice, Platform: bot.PlatformConsole}, bot.Said{Text: "not a bridged platform", Relay: true}},
	} {
		if err := svc.Discuss(ctx, tc.a, inc.ID, tc.said); err != nil {
			t.Fatal(err)
		}
	}
	if r := relays(); len(r) != 0 {
		t.Fatalf("relayed: %+v", r)
	}
	paste := strings.Repeat("line\n", 20) + strings.Repeat("é", 2000)
	if err := svc.Discuss(ctx, onIRC, inc.ID, bot.Said{Text: paste, Relay: true}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Discuss(ctx, onIRC, inc.ID, bot.Said{Deleted: true, Relay: true}); err != nil {
		t.Fatal(err)
	}
	r := relays()
	if len(r) != 2 || r[0].Dest.Platform != bot.PlatformMattermost || r[0].Dest.Channel != bot.ChannelIncident || !r[0].Confidential {
		t.Fatalf("relays: %+v", r)
	}
	text := bot.RenderPlain(r[0].Text)
	if lines := strings.Count(text, "\n") + 1; lines > 8 || !strings.HasSuffix(text, "[cut; the whole message is in the record]") || !utf8.ValidString(text) {
		t.Errorf("cut relay (%d lines):\n%s", lines, text)
	}
	if got := bot.RenderPlain(r[1].Text); got != "alice (irc, deleted a message)" {
		t.Errorf("deletion relayed as %q", got)
	}
	// One long line is cut by bytes, on a character boundary.
	if err := svc.Discuss(ctx, onIRC, inc.ID, bot.Said{Text: strings.Repeat("é", 2000), Relay: true}); err != nil {
		t.Fatal(err)
	}
	if r = relays(); len(r) != 3 {
		t.Fatalf("%d relays", len(r))
	}
	if text := bot.RenderPlain(r[2].Text); len(text) > 1600 || !utf8.ValidString(text) || !strings.Contains(text, "é [cut;") {
		t.Errorf("long line relayed as %d bytes, valid %v", len(text), utf8.ValidString(text))
	}
	// The record keeps the whole paste.
	_, events, _ := svc.Timeline(ctx, onIRC, inc.ID)
	if d := bot.Discussion(events); len(d) != 5 || d[2].Details != strings.TrimSpace(paste) {
		t.Errorf("the record does not keep the whole paste: %d entries", len(d))
	}
}
