package mattermost

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
)

// reportBodies is a ReportReader with fixed bodies.
type reportBodies map[int64]string

func (r reportBodies) ReportBody(ctx context.Context, id int64) (bot.Text, error) {
	var t bot.Text
	if b, ok := r[id]; ok {
		t.Block(b)
	}
	return t, nil
}

// hostileReport is what an attacker might send, with the team's real
// usernames in it.
func hostileReport(w *world) string {
	return strings.Join([]string{
		"Hello @channel @all @here and @" + w.users["alice"].Username + ", @" + w.users["bob"].Username + ":",
		"see [the details](https://evil.example/steal) or https://evil.example/preview and www.evil.example",
		"![pixel](https://evil.example/p.png) <https://evil.example/auto>",
		"```",
		"@channel after a fake fence close",
		"````",
		"~~~",
		"@all again",
		"> quoted @here",
	}, "\n")
}

func TestHostileReportIsInert(t *testing.T) {
	bodies := reportBodies{}
	w := newWorld(t, worldOptions{reports: bodies})
	admin := w.s.Admin()
	clients := map[string]*model.Client4{"alice": w.client(t, "alice"), "bob": w.client(t, "bob"), mmserver.AdminName: admin}
	ids := map[string]string{"alice": w.users["alice"].Id, "bob": w.users["bob"].Id}
	me, _, err := admin.GetMe(ctxT(t), "")
	if err != nil {
		t.Fatal(err)
	}
	ids[mmserver.AdminName] = me.Id
	sockets := map[string]*mmserver.WebSocket{}
	baseline := map[string]int64{}
	for name, c := range clients {
		sockets[name] = w.s.WebSocket(t, c.AuthToken)
		u, _, err := c.GetChannelUnread(ctxT(t), w.triage.Id, ids[name])
		if err != nil {
			t.Fatal(err)
		}
		baseline[name] = u.MentionCount
	}

	// The body is long enough to need two posts after the announcement.
	report := hostileReport(w)
	body := report + "\n" + strings.Repeat("filler line to pass the post limit @channel\n", 500) + report
	title := "RCE via @channel [x](https://evil.example) ```" + " @" + w.users["bob"].Username
	next := int64(1) // the first incident of this world's database
	bodies[next] = body
	inc := w.c.open(t, title)
	if inc.ID != next {
		t.Fatalf("incident id %d", inc.ID)
	}
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)

	posts := w.botPosts(t, w.triage.Id)
	if len(posts) != 3 {
		t.Fatalf("%d posts, want the announcement and two parts of the body", len(posts))
	}
	var code strings.Builder
	for i, p := range posts {
		if n := utf8.RuneCountInString(p.Message); n > model.PostMessageMaxRunesV2 {
			t.Errorf("post %d: %d runes", i, n)
		}
		if i > 0 && p.RootId != posts[0].Id {
			t.Errorf("body post %d is not in the announcement's thread", i)
		}
		if len(p.Metadata.Embeds) > 0 && p.Metadata.Embeds[0].Type != model.PostEmbedMessageAttachment {
			t.Errorf("post %d has an embed %+v", i, p.Metadata.Embeds[0])
		}
		in := inspect(p.Message)
		if len(in.links) > 0 {
			t.Errorf("post %d links to %q", i, in.links)
		}
		for _, f := range in.fences {
			code.WriteString(f.Code())
		}
	}
	if got := noBlanks(strings.ReplaceAll(code.String(), "\n", "")); got != noBlanks(strings.ReplaceAll(body, "\n", "")) {
		t.Errorf("the body did not survive the fences intact")
	}
	// What the server computed for each post: no mentions, for anyone.
	for name, ws := range sockets {
		for i := range posts {
			ev := ws.WaitFor(t, waitLong, mmserver.IsPosted(w.triage.Id, ""))
			if m, ok := ev.GetData()["mentions"]; ok {
				t.Errorf("%s: post %d mentions %v", name, i, m)
			}
		}
	}
	for name, c := range clients {
		u, _, err := c.GetChannelUnread(ctxT(t), w.triage.Id, ids[name])
		if err != nil {
			t.Fatal(err)
		}
		if u.MentionCount != baseline[name] {
			t.Errorf("%s was notified: %d mentions, %d before", name, u.MentionCount, baseline[name])
		}
	}
}

func TestLongReportBecomesFile(t *testing.T) {
	w := newWorld(t, worldOptions{reports: reportBodies{1: strings.Repeat("x", 3000) + "\n@channel\n" + strings.Repeat("y", 3000)},
		adapt: func(o *Options) { o.PostLimit, o.MaxPosts = 1000, 2 }})
	inc := w.c.open(t, "Long")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	posts := w.botPosts(t, w.triage.Id)
	if len(posts) != 3 {
		t.Fatalf("%d posts", len(posts))
	}
	file := posts[2]
	if len(file.FileIds) != 1 || file.Message != inc.Name()+"-report.txt" {
		t.Fatalf("last post %q with files %v", file.Message, file.FileIds)
	}
	data, _, err := w.s.Admin().GetFile(ctxT(t), file.FileIds[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "x\n@channel\ny") || len(data) < 6000 {
		t.Errorf("file of %d bytes", len(data))
	}
	if !strings.Contains(posts[1].Message, "attached") {
		t.Errorf("the post before the file: %q", posts[1].Message)
	}
}
