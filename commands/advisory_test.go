package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// servicePublisher is the publication run without its outputs: the
// service's checks and state changes, which the commands' replies show.
// The files, mail and encryption are tested with the real publisher in
// package publication.
type servicePublisher struct{ svc *bot.Service }

func (p *servicePublisher) Publish(ctx context.Context, a bot.Actor, rule bot.Rule, id int64) (bot.PublicationReport, error) {
	out, err := p.svc.PublishAdvisory(ctx, a, rule, id)
	if err != nil {
		return bot.PublicationReport{}, err
	}
	return bot.PublicationReport{Advisory: out.Record.Draft, Published: out.Changed, ReporterTold: out.ReporterTold}, nil
}

func (p *servicePublisher) NotifyDistros(ctx context.Context, a bot.Actor, rule bot.Rule, id int64) (string, error) {
	if _, _, err := p.svc.CheckDistros(ctx, a, rule, id); err != nil {
		return "", err
	}
	list := p.svc.PublicationPolicy().DistrosList
	if _, err := p.svc.RecordDistros(ctx, a, rule, id, list); err != nil {
		return "", err
	}
	return list, nil
}

// TestAdvisoryScheduleAndPublishMessages checks what the commands and the
// sweep queue: the incident manager's reminders 24 h and 1 h before a
// scheduled publication, once each and for the schedule in force, and at
// publication the reporter's mail with the link and their credit, and
// the oss-security reminder once the distros list had the draft.
func TestAdvisoryScheduleAndPublishMessages(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	alice, bob, carol, dave := actorOf(w, "alice"), actorOf(w, "bob"), actorOf(w, "carol"), actorOf(w, "dave")
	for _, l := range []string{"ack 1", "confirm 1", "embargo 1 5d"} {
		mustRun(t, w, alice, l)
	}
	for _, l := range []string{
		"advisory 1 set title Heap overflow in the SIP parser", "advisory 1 set summary A header overflows a buffer.",
		"advisory 1 set description A long Via header overflows the buffer.", "advisory 1 affected libsip 1.4.0..1.4.3",
		"advisory 1 ref patch https://git.example.org/c/1", "advisory 1 credit finder Jane Doe",
	} {
		mustRun(t, w, bob, l)
	}
	mustRun(t, w, bob, "notify distros 1")
	mustRun(t, w, alice, "publish 1 at")
	at := w.clock.Now().Add(5 * 24 * time.Hour)
	duty := bot.NewDuty(w.svc, w.db, discard())
	reminders := func() []string {
		t.Helper()
		if _, err := duty.PublicationReminders(ctx); err != nil {
			t.Fatal(err)
		}
		msgs, err := w.db.DueMessages(ctx, w.clock.Now().Add(24*time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range msgs {
			if text := bot.RenderPlain(m.Text); m.Kind == bot.MessagePing && strings.Contains(text, "scheduled for publication") {
				out = append(out, m.Dest.Person+": "+text)
			}
		}
		return out
	}
	w.clock.Set(at.Add(-24*time.Hour - time.Minute))
	if got := reminders(); len(got) != 0 {
		t.Fatalf("reminders before 24 h ahead: %v", got)
	}
	w.clock.Set(at.Add(-24 * time.Hour))
	got := reminders()
	if len(got) == 0 || !strings.HasPrefix(got[0], "alice: SEC-1: the advisory is scheduled for publication at") || !strings.Contains(got[0], "in 1d") {
		t.Fatalf("24 h ahead: reminders %v, want the manager alice", got)
	}
	n24 := len(got)
	if again := reminders(); len(again) != n24 {
		t.Fatalf("a second sweep reminded again: %v", again)
	}
	// Rescheduled: the new time's reminders, none for the old one.
	mustRun(t, w, alice, "publish 1 at 2h")
	w.clock.Advance(time.Hour)
	if got := reminders(); len(got) != 2*n24 || !strings.Contains(got[len(got)-1], "in 1h") {
		t.Fatalf("1 h before the new time: %v", got)
	}
	mustRun(t, w, dave, "approve 1")
	mustRun(t, w, carol, "approve 1")
	mustRun(t, w, alice, "publish 1 now")
	msgs, err := w.db.DueMessages(ctx, w.clock.Now(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var mail, reminder string
	for _, m := range msgs {
		text := bot.RenderPlain(m.Text)
		if m.Kind == bot.MessageMail && m.Dest.Address == "reporter@example.net" && strings.Contains(text, "published") {
			mail = text
		}
		if strings.Contains(text, "oss-security") && strings.Contains(text, "published advisory") {
			reminder = text
		}
	}
	if !strings.Contains(mail, "https://example.org/advisories/2026-1.html") || !strings.Contains(mail, "Jane Doe (finder)") {
		t.Errorf("reporter's mail:\n%s", mail)
	}
	if reminder == "" {
		t.Error("no oss-security reminder at publication")
	}
	inc, _ := w.db.Incident(ctx, 1)
	if inc.State != bot.StateDisclosed {
		t.Errorf("after publication the incident is %s", inc.State)
	}
	if ids, _ := w.svc.DuePublications(ctx); len(ids) != 0 {
		t.Errorf("a published advisory is still due: %v", ids)
	}
}
