package mattermost

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// TestFakeRestartMidMessageResumes: a message of three posts loses the
// server after its first post; the retry posts the second and third only,
// so each part is in the channel once, in order.
func TestFakeRestartMidMessageResumes(t *testing.T) {
	w := newFakeWorld(t, func(o *Options) { o.PostLimit = 200 })
	w.ready(t)
	var text bot.Text
	for i := 1; i <= 3; i++ {
		text.Plain(fmt.Sprintf("part %d %s", i, strings.Repeat("x", 150))).Line()
	}
	w.f.failPostsAfter(1, 1)
	err := w.c.db.Enqueue(context.Background(), []bot.OutboxMessage{{
		Dest: bot.Destination{Platform: bot.PlatformMattermost, Channel: bot.ChannelTriage}, Kind: bot.MessageDigest, Text: text,
	}})
	if err != nil {
		t.Fatal(err)
	}
	w.c.outbox.Wake()
	failed := w.c.waitAttempt(t, "the cut attempt", func(a attempt) bool { return a.m.Kind == bot.MessageDigest })
	if failed.err == nil {
		t.Fatal("the first attempt did not fail")
	}
	w.c.waitDelivered(t, bot.MessageDigest, nil)
	var got []string
	for _, p := range w.f.postsIn(w.triage) {
		if strings.Contains(p.Message, "part ") {
			got = append(got, strings.Join(strings.Fields(p.Message)[:2], " "))
		}
	}
	if strings.Join(got, ",") != "part 1,part 2,part 3" {
		t.Errorf("posts %q; want each part once, in order", got)
	}
}
