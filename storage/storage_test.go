package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/storage"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openDB(t testing.TB) (*storage.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sectriage.db")
	db, err := openSealed(context.Background(), path, discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func testSettings(t testing.TB) *bot.Settings {
	t.Helper()
	people, err := bot.NewPeople([]bot.Person{
		{Name: "alice", Role: bot.RoleOfficer, Mattermost: "alice", IRCAccount: "alice"},
		{Name: "bob", Role: bot.RoleMember, Mattermost: "bob", IRCAccount: "bob"},
		{Name: "erin", Role: bot.RoleMember},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &bot.Settings{
		People:     people,
		SIGs:       []*bot.SIG{{Name: "core", Lead: "bob", Contacts: []string{"bob", "erin"}}},
		DefaultSIG: "core",
		Deadlines:  bot.DefaultDeadlines(),
		Platforms:  []string{bot.PlatformConsole},
	}
}

func newService(t testing.TB, db *storage.DB) (*bot.Service, *bot.ManualClock) {
	clock := bot.NewManualClock(t0)
	return bot.NewService(db, clock, discard(), testSettings(t)), clock
}

func actor(s *bot.Service, name string) bot.Actor {
	return bot.Actor{Person: s.Settings().People.ByName(name), Platform: bot.PlatformCLI}
}

func TestIncidentRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	svc, clock := newService(t, db)
	inc, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "Heap overflow", Reporter: "r@example.net", Encrypted: true})
	if err != nil {
		t.Fatal(err)
	}
	if inc.ID != 1 || inc.Assignee != "bob" || inc.Manager != "alice" || inc.DueKind != bot.DeadlineAcknowledge {
		t.Fatalf("new incident = %+v", inc)
	}
	clock.Advance(time.Hour)
	if _, err := svc.Claim(ctx, actor(svc, "erin"), bot.Member, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddCVE(ctx, actor(svc, "erin"), bot.Member, 1, "CVE-2026-1234", false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetDue(ctx, actor(svc, "alice"), bot.Officer, 1, bot.DeadlineTriage, t0.Add(72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := db.Incident(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != bot.StateTriage || got.Assignee != "erin" || !got.Claimed || got.AckedBy != "erin" ||
		!got.AckedAt.Equal(t0.Add(time.Hour)) || len(got.CVEs) != 1 || !got.Due.Equal(t0.Add(72*time.Hour)) ||
		got.DueKind != bot.DeadlineTriage || !got.Encrypted || got.Reporter != "r@example.net" {
		t.Fatalf("stored incident = %+v", got)
	}
	events, err := db.Events(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	if want := "created assigned claimed state cve due"; strings.Join(kinds, " ") != want {
		t.Fatalf("events = %q, want %q", strings.Join(kinds, " "), want)
	}
	if _, err := db.Incident(ctx, 99); bot.KindOf(err) != bot.KindNotFound {
		t.Fatalf("missing incident: err = %v, want not found", err)
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	svc, _ := newService(t, db)
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Even with direct SQL access, the timeline cannot be rewritten.
	raw, err := openSealed(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`UPDATE events SET details = 'forged'`, `DELETE FROM events`} {
		if err := raw.ExecForTest(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
}

// TestConcurrentClaims: two claims at once, one wins and the other is told
// who won; no update is lost.
func TestConcurrentClaims(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	svc, _ := newService(t, db)
	for i := 0; i < 20; i++ {
		inc, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: fmt.Sprint("race ", i)})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, who := range []string{"bob", "erin"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[j] = svc.Claim(ctx, actor(svc, who), bot.Member, inc.ID)
			}()
		}
		wg.Wait()
		got, err := db.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var failed []error
		for _, err := range errs {
			if err != nil {
				failed = append(failed, err)
			}
		}
		if len(failed) != 1 {
			t.Fatalf("round %d: errors %v, want exactly one claim refused", i, errs)
		}
		if bot.KindOf(failed[0]) != bot.KindConflict || !strings.Contains(failed[0].Error(), "already claimed by "+got.Assignee) {
			t.Fatalf("round %d: loser told %q; winner is %s", i, failed[0], got.Assignee)
		}
		events, _ := db.Events(ctx, inc.ID)
		claims := 0
		for _, e := range events {
			if e.Kind == bot.EventClaimed {
				claims++
			}
		}
		if claims != 1 {
			t.Fatalf("round %d: %d claim events, want 1", i, claims)
		}
	}
}

func TestOutboxDedupeOrderAndRetry(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	msg := func(text, key string) bot.OutboxMessage {
		return bot.OutboxMessage{Dest: bot.Destination{Platform: "irc", Channel: bot.ChannelTriage}, Kind: bot.MessageNotice,
			Text: bot.PlainText(text), DedupeKey: key, Created: t0, NextAttempt: t0}
	}
	if err := db.Enqueue(ctx, []bot.OutboxMessage{msg("one", "k1"), msg("two", ""), msg("one again", "k1")}); err != nil {
		t.Fatal(err)
	}
	due, err := db.DueMessages(ctx, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || bot.RenderPlain(due[0].Text) != "one" || bot.RenderPlain(due[1].Text) != "two" {
		t.Fatalf("due = %+v", due)
	}
	if err := db.MarkRetry(ctx, due[0].ID, 1, t0.Add(time.Minute), "down"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeferPlatform(ctx, "irc", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.DueMessages(ctx, t0.Add(30*time.Second), 10); len(due) != 0 {
		t.Fatalf("deferred platform still has due messages: %+v", due)
	}
	next, _ := db.NextAttempt(ctx)
	if !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("next attempt %v", next)
	}
	due, _ = db.DueMessages(ctx, t0.Add(time.Minute), 10)
	if len(due) != 2 || due[0].Attempts != 1 || due[0].LastError != "down" {
		t.Fatalf("after retry time: %+v", due)
	}
	mm := msg("for mattermost", "")
	mm.Dest.Platform = "mattermost"
	if err := db.Enqueue(ctx, []bot.OutboxMessage{mm}); err != nil {
		t.Fatal(err)
	}
	stats, err := db.OutboxStats(ctx)
	if err != nil || stats.Pending != 3 || !stats.OldestPending.Equal(t0) ||
		stats.PendingByPlatform["irc"] != 2 || stats.PendingByPlatform["mattermost"] != 1 || len(stats.PendingByPlatform) != 2 {
		t.Fatalf("stats %+v, %v", stats, err)
	}
}

func TestMigrationsAreIdempotentAndRefuseNewerSchema(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	v, err := db.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	db.Close()
	db2, err := openSealed(ctx, path, discard())
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	if err := db2.ExecForTest(ctx, `INSERT INTO schema_migrations VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if _, err := openSealed(ctx, path, discard()); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema: err = %v", err)
	}
}

func TestOpenReportsUnwritablePath(t *testing.T) {
	_, err := openSealed(context.Background(), "/nonexistent-dir/x.db", discard())
	if err == nil {
		t.Fatal("expected an error")
	}
	var pe *os.PathError
	_ = errors.As(err, &pe) // any error is fine; it must not panic or succeed
}

func TestPathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd&chars")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "db?_pragma=foo.db")
	db, err := openSealed(context.Background(), path, discard())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the literal path: %v", err)
	}
}

func TestAlertOfficersDedupes(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	settings := testSettings(t)
	settings.Platforms = []string{bot.PlatformIRC, bot.PlatformMattermost}
	svc := bot.NewService(db, bot.NewManualClock(t0), discard(), settings)
	for i := 0; i < 3; i++ {
		if err := svc.AlertOfficers(ctx, "irc-channel-public", bot.PlainText("#sec is not private")); err != nil {
			t.Fatal(err)
		}
	}
	due, err := db.DueMessages(ctx, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	// alice is the only officer, on both platforms; three alerts, one key.
	if len(due) != 2 || due[0].Dest.Person != "alice" || due[0].Kind != bot.MessageAlert {
		t.Fatalf("queued %+v", due)
	}
}

// TestOutboxManyRowsDedupeInOrder: a change's messages are inserted
// several rows per statement (and more than one statement's worth here);
// a dedupe key used by an earlier message of the same batch, in the same
// statement or an earlier one, drops the later message, as one statement
// per message did.
func TestOutboxManyRowsDedupeInOrder(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	var msgs []bot.OutboxMessage
	var want []string
	used := map[string]bool{}
	for i := range 30 {
		key := ""
		if i%2 == 0 {
			key = fmt.Sprintf("k%d", i%7)
		}
		text := fmt.Sprintf("message %d", i)
		msgs = append(msgs, bot.OutboxMessage{Dest: bot.Destination{Platform: "irc", Channel: bot.ChannelTriage},
			Kind: bot.MessageNotice, Text: bot.PlainText(text), DedupeKey: key, Created: t0, NextAttempt: t0.Add(time.Duration(i%3) * time.Second)})
		if key == "" || !used[key] {
			used[key] = true
			want = append(want, text)
		}
	}
	if err := db.Enqueue(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	due, err := db.DueMessages(ctx, t0.Add(time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range due {
		got = append(got, bot.RenderPlain(m.Text))
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("queued %q, want %q", got, want)
	}
	for _, m := range due {
		var i int
		fmt.Sscanf(bot.RenderPlain(m.Text), "message %d", &i)
		if !m.Created.Equal(t0) || !m.NextAttempt.Equal(t0.Add(time.Duration(i%3)*time.Second)) || m.LastError != "" {
			t.Errorf("message %d read back as created %v, next %v, error %q", i, m.Created, m.NextAttempt, m.LastError)
		}
	}
}

// TestOutboxSharedText: one Text queued for several platforms (stored
// once marshalled), beside a shorter Text over the same spans and another
// Text, each reads back as its own.
func TestOutboxSharedText(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	var post bot.Text
	post.Plain("new incident ").Untrusted("title").Plain(" in ").Mention("alice")
	short := bot.Text{Spans: post.Spans[:2]}
	msg := func(platform string, text bot.Text) bot.OutboxMessage {
		return bot.OutboxMessage{Dest: bot.Destination{Platform: platform, Channel: bot.ChannelTriage}, Kind: bot.MessageNotice,
			Text: text, Created: t0, NextAttempt: t0}
	}
	if err := db.Enqueue(ctx, []bot.OutboxMessage{msg("irc", post), msg("mattermost", post), msg("irc", short),
		msg("irc", bot.PlainText("other")), msg("mattermost", post)}); err != nil {
		t.Fatal(err)
	}
	due, err := db.DueMessages(ctx, t0, 10)
	if err != nil || len(due) != 5 {
		t.Fatalf("due %+v, %v", due, err)
	}
	for i, want := range []bot.Text{post, post, short, bot.PlainText("other"), post} {
		if bot.RenderPlain(due[i].Text) != bot.RenderPlain(want) || len(due[i].Text.Spans) != len(want.Spans) {
			t.Errorf("message %d read back as %+v, want %+v", i, due[i].Text, want)
		}
	}
}
