package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// reporterMails lists the queued mails to addr, oldest first.
func reporterMails(t *testing.T, w *world, addr string) []string {
	t.Helper()
	msgs, err := w.db.DueMessagesWhere(context.Background(), bot.OutboxFilter{Platforms: []string{bot.PlatformEmail}}, start.Add(365*24*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Dest.Address == addr {
			out = append(out, bot.RenderPlain(m.Text))
		}
	}
	return out
}

// TestNotifyReporterOncePerStage walks incidents through every path of
// the state machine by command and checks that the reporter is mailed
// exactly when their report reaches another stage, and only with
// [intake] notify_reporter on.
func TestNotifyReporterOncePerStage(t *testing.T) {
	for _, tc := range []struct {
		lines  []string
		stages []bot.ReporterStage
	}{
		{[]string{"claim %d", "confirm %d", "fixed %d", "close %d fixed"}, []bot.ReporterStage{bot.StageConfirmed, bot.StageFixing, bot.StagePublished}},
		{[]string{"ack %d", "reject %d"}, []bot.ReporterStage{bot.StageConfirmed, bot.StageClosed}},
		{[]string{"close %d duplicate of SEC-2"}, []bot.ReporterStage{bot.StageClosed}},
		{[]string{"ack %d", "state %d fixing", "close %d wontfix"}, []bot.ReporterStage{bot.StageConfirmed, bot.StageFixing, bot.StageClosed}},
		{[]string{"note %d hm", "severity %d high", "ack %d", "snooze %d 1d", "embargo %d 30d"}, []bot.ReporterStage{bot.StageConfirmed}},
	} {
		for _, on := range []bool{true, false} {
			w := newWorld(t)
			st := *w.svc.Settings()
			st.NotifyReporter = on
			w.svc.SetSettings(&st)
			alice := actorOf(w, "alice")
			for _, l := range tc.lines {
				if r := w.reg.Run(context.Background(), alice, fmt.Sprintf(l, 1), true); r.Failed {
					t.Fatalf("%s: %s", l, bot.RenderPlain(r.Text))
				}
			}
			mails := reporterMails(t, w, "reporter@example.net")
			want := tc.stages
			if !on {
				want = nil
			}
			if len(mails) != len(want) {
				t.Errorf("%v (notify %v): %d mails, want %d:\n%s", tc.lines, on, len(mails), len(want), strings.Join(mails, "\n---\n"))
				continue
			}
			for i, m := range mails {
				if !strings.Contains(m, "SEC-1 is now "+string(want[i])+". "+bot.StageMeaning(want[i])) || strings.Contains(m, "Heap overflow") {
					t.Errorf("%v: mail %d for %s:\n%s", tc.lines, i, want[i], m)
				}
			}
		}
	}
}

func TestStatusRevoke(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	token, hash := bot.NewStatusToken()
	if len(token) < 43 || hash == token {
		t.Fatalf("token %q hash %q", token, hash)
	}
	if err := w.db.AddStatusToken(ctx, hash, 1, start); err != nil {
		t.Fatal(err)
	}
	if r := w.reg.Run(ctx, actorOf(w, "bob"), "status revoke 1", true); !r.Failed || r.Kind != bot.KindForbidden {
		t.Errorf("a member: %s", bot.RenderPlain(r.Text))
	}
	if id, err := w.db.StatusToken(ctx, hash); err != nil || id != 1 {
		t.Fatalf("refused revoke changed the link: %d %v", id, err)
	}
	if r := w.reg.Run(ctx, actorOf(w, "alice"), "status revoke SEC-1", true); r.Failed || !strings.Contains(bot.RenderPlain(r.Text), "Revoked 1 status link(s) of SEC-1") {
		t.Errorf("an officer: %s", bot.RenderPlain(r.Text))
	}
	if _, err := w.db.StatusToken(ctx, hash); bot.KindOf(err) != bot.KindNotFound {
		t.Errorf("revoked link still resolves: %v", err)
	}
	if r := w.reg.Run(ctx, actorOf(w, "alice"), "status show 1", true); !r.Failed || !strings.Contains(bot.RenderPlain(r.Text), "status revoke <id>") {
		t.Errorf("bad subcommand: %s", bot.RenderPlain(r.Text))
	}
}
