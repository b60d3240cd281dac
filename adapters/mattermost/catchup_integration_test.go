package mattermost

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
)

// TestRestartBackWithinSeconds: with the production retry delays, the
// websocket and the outbox are back within 5 s of a restarted server
// answering again, after an outage long enough for a doubling backoff to
// have grown past that (it used to come back ~30 s late).
func TestRestartBackWithinSeconds(t *testing.T) {
	s := mmserver.Start(t) // its own server: this test stops it
	w := newWorld(t, worldOptions{server: s, realBackoff: true})
	w.c.open(t, "Before the outage")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	waitConnected(t, w.a, true)

	drain(w.a.hello)
	s.StopMattermost(t)
	waitConnected(t, w.a, false)
	during := w.c.open(t, "Queued during the outage")
	w.c.waitAttempt(t, "a failed attempt while down", func(a attempt) bool { return a.err != nil })
	time.Sleep(20 * time.Second) // retry delays double past 5 s: 1+2+4+8 s

	answered := make(chan time.Time, 1)
	probe, stopProbe := context.WithCancel(context.Background())
	defer stopProbe()
	var wg sync.WaitGroup
	wg.Go(func() { answered <- firstAnswer(probe, s) })
	s.StartMattermost(t)
	back := <-answered
	wg.Wait()

	select {
	case <-w.a.hello:
	case <-time.After(waitLong):
		t.Fatal("the websocket did not reconnect")
	}
	ws := time.Since(back)
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	queued := time.Since(back)
	t.Logf("server answering -> websocket hello %v, queued post delivered %v", ws.Round(10*time.Millisecond), queued.Round(10*time.Millisecond))
	if ws > 5*time.Second || queued > 5*time.Second {
		t.Errorf("back %v (websocket) and %v (queued post) after the server; want within 5 s", ws, queued)
	}
	var announced int
	for _, p := range w.botPosts(t, w.triage.Id) {
		if strings.Contains(p.Message, during.Name()) && strings.Contains(p.Message, "Queued during the outage") {
			announced++
		}
	}
	if announced != 1 {
		t.Errorf("the queued incident was posted %d times, want once", announced)
	}
}

// firstAnswer polls the server's ping every 20 ms and returns when it
// first answers: the moment the server is back, whatever the harness
// waits for after it.
func firstAnswer(ctx context.Context, s *mmserver.Server) time.Time {
	c := model.NewAPIv4Client(s.URL())
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, resp, err := c.GetPing(pctx)
		cancel()
		if err == nil && resp != nil && resp.StatusCode == 200 {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

func waitConnected(t testing.TB, a *Adapter, up bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for a.Connected() != up {
		if time.Now().After(deadline) {
			t.Fatalf("websocket connected=%v after %v, want %v", a.Connected(), waitLong, up)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCatchUpAnswersDMSentWhileAway: a direct message sent while the bot
// had no websocket (here: the daemon stopped) is answered when it is back,
// once; one answered live before is not run again.
func TestCatchUpAnswersDMSentWhileAway(t *testing.T) {
	w := newWorld(t, worldOptions{})
	first := w.c.open(t, "Claimed live")
	second := w.c.open(t, "Claimed while away")
	waitConnected(t, w.a, true)
	w.claimByDM(t, "bob", first)
	w.stop() // the daemon goes away; the server stays

	bob := w.client(t, "bob")
	dm, _, err := bob.CreateDirectChannel(ctxT(t), w.users["bob"].Id, w.botID)
	if err != nil {
		t.Fatal(err)
	}
	watch := w.s.WebSocket(t, bob.AuthToken)
	if _, _, err := bob.CreatePost(ctxT(t), &model.Post{ChannelId: dm.Id, Message: fmt.Sprintf("claim %d", second.ID)}); err != nil {
		t.Fatal(err)
	}
	// Another user's direct message, from someone not declared: taken by
	// the same path, so it is refused like a live one.
	carol := w.client(t, "carol")
	cdm, _, err := carol.CreateDirectChannel(ctxT(t), w.users["carol"].Id, w.botID)
	if err != nil {
		t.Fatal(err)
	}
	carolWatch := w.s.WebSocket(t, carol.AuthToken)
	if _, _, err := carol.CreatePost(ctxT(t), &model.Post{ChannelId: cdm.Id, Message: fmt.Sprintf("claim %d", second.ID)}); err != nil {
		t.Fatal(err)
	}

	// The daemon starts again on the same database.
	a, err := New(w.a.opts, w.c.svc, w.c.reg, w.c.db, nil, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	watch.WaitFor(t, waitLong, mmserver.IsPosted(dm.Id, "You claimed "+second.Name()))
	// carol's answer runs on its own: it may come after bob's.
	carolWatch.WaitFor(t, waitLong, func(ev *model.WebSocketEvent) bool {
		return mmserver.IsPosted(cdm.Id, "")(ev) && mmserver.PostOf(t, ev).UserId == w.botID
	})
	if got := w.c.incident(t, second.ID).Assignee; got != "bob" {
		t.Errorf("assignee %q, want bob", got)
	}

	// Each command ran once: a second catch-up (a reconnect) finds them
	// all taken.
	c, _ := a.current()
	a.catchUp(ctx, c)
	time.Sleep(time.Second) // an answer would be posted by now
	count := func(posts []*model.Post, text string) int {
		n := 0
		for _, p := range posts {
			if strings.Contains(p.Message, text) {
				n++
			}
		}
		return n
	}
	posts := w.directPosts(t, "bob")
	if n := count(posts, "You claimed "+first.Name()); n != 1 {
		t.Errorf("the live command was answered %d times, want once", n)
	}
	if n := count(posts, "You claimed "+second.Name()); n != 1 {
		t.Errorf("the missed command was answered %d times, want once", n)
	}
	if n := len(w.botPosts(t, cdm.Id)); n != 1 {
		t.Errorf("carol's message got %d answers, want one refusal", n)
	} else if p := w.botPosts(t, cdm.Id)[0]; strings.Contains(p.Message, "You claimed") {
		t.Errorf("an undeclared user's missed command ran: %q", p.Message)
	}
}
