package mattermost

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// yielded reports whether yield returned within d.
func yielded(s *answers, d time.Duration) bool {
	done := make(chan struct{})
	go func() { s.yield(context.Background()); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func TestAnswersHoldBackgroundWork(t *testing.T) {
	long := time.Hour
	for _, tc := range []struct {
		name string
		// settle ends the answer the way the case says, or does not.
		settle func(s *answers, an *answer)
		free   bool // yield returns at once afterwards
	}{
		{"nothing in flight", func(s *answers, an *answer) { s.end(an) }, true},
		{"ephemeral answer written", func(s *answers, an *answer) { s.posting(an, "ch", "u", 0) }, true},
		{"in-channel answer not posted yet", func(s *answers, an *answer) { s.posting(an, "ch", "u", 1) }, false},
		{"in-channel answer posted", func(s *answers, an *answer) { s.posting(an, "ch", "u", 1); s.seen("ch", "u") }, true},
		{"another user's post", func(s *answers, an *answer) { s.posting(an, "ch", "u", 1); s.seen("ch", "v") }, false},
		{"a post in another channel", func(s *answers, an *answer) { s.posting(an, "ch", "u", 1); s.seen("other", "u") }, false},
		{"two of three parts posted", func(s *answers, an *answer) {
			s.posting(an, "ch", "u", 3)
			s.seen("ch", "u")
			s.seen("ch", "u")
		}, false},
		{"three of three parts posted", func(s *answers, an *answer) {
			s.posting(an, "ch", "u", 3)
			s.seen("ch", "u")
			s.seen("ch", "u")
			s.seen("ch", "u")
		}, true},
		{"still running", func(s *answers, an *answer) {}, false},
		{"ended twice", func(s *answers, an *answer) { s.end(an); s.end(an) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &answers{answerMax: long, yieldMax: long}
			tc.settle(s, s.begin())
			// Held: not back within 50 ms (a slow machine can only make
			// this pass wrongly, never fail wrongly); free: back at once.
			wait := 50 * time.Millisecond
			if tc.free {
				wait = 10 * time.Second
			}
			if got := yielded(s, wait); got != tc.free {
				t.Fatalf("yield returned: %v, want %v", got, tc.free)
			}
		})
	}
}

func TestAnswersWaitForEveryAnswer(t *testing.T) {
	s := &answers{answerMax: time.Hour, yieldMax: time.Hour}
	first, second := s.begin(), s.begin()
	done := make(chan struct{})
	go func() { s.yield(context.Background()); close(done) }()
	s.end(first)
	select {
	case <-done:
		t.Fatal("yield returned with an answer still in flight")
	case <-time.After(30 * time.Millisecond):
	}
	s.end(second)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("yield did not return when the last answer ended")
	}
	// A new answer after an idle moment holds work again.
	third := s.begin()
	if yielded(s, 30*time.Millisecond) {
		t.Fatal("yield returned with a new answer in flight")
	}
	s.end(third)
}

// The bounds: an answer whose post never shows stops counting, and a
// waiter goes on after yieldMax even while answers keep coming.
func TestAnswersBounded(t *testing.T) {
	s := &answers{answerMax: 20 * time.Millisecond, yieldMax: time.Hour}
	s.posting(s.begin(), "ch", "u", 1) // never seen
	if !yielded(s, 5*time.Second) {
		t.Fatal("an answer never posted held work for good")
	}
	if live, expired := s.state(); live != 0 || expired != 1 {
		t.Fatalf("after the bound: %d in flight, %d expired; want 0, 1", live, expired)
	}

	// Its own variable: the stream goes on until the test ends.
	stream := &answers{answerMax: time.Hour, yieldMax: 20 * time.Millisecond}
	stop, started := make(chan struct{}), make(chan struct{})
	defer close(stop)
	go func() { // one answer always in flight
		an := stream.begin()
		close(started)
		for {
			select {
			case <-stop:
				stream.end(an)
				return
			case <-time.After(time.Millisecond):
				next := stream.begin()
				stream.end(an)
				an = next
			}
		}
	}()
	<-started
	start := time.Now()
	if !yielded(stream, 5*time.Second) {
		t.Fatal("a stream of answers held work for good")
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Fatalf("yield returned after %v with answers in flight", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s = &answers{answerMax: time.Hour, yieldMax: time.Hour}
	an := s.begin()
	defer s.end(an)
	cancel()
	s.yield(ctx) // returns: the context is done
}

// postingWriter is Mattermost at its quickest: the answer's post is made,
// and seen on the websocket, as soon as the answer's bytes arrive.
type postingWriter struct {
	*httptest.ResponseRecorder
	a             *Adapter
	channel, user string
}

func (p postingWriter) Write(b []byte) (int, error) {
	p.a.pending.seen(p.channel, p.user)
	return p.ResponseRecorder.Write(b)
}

// TestFakeAnswerPostedAsSoonAsWritten: an in-channel answer counts its
// posts before it is written, so that a post coming at once ends it
// rather than leaving it to hold background work until answerMax.
func TestFakeAnswerPostedAsSoonAsWritten(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.a.pending.mu.Lock()
	w.a.pending.answerMax = time.Hour // reaching it fails the test
	w.a.pending.mu.Unlock()
	w.ready(t)
	inc := w.c.open(t, "Title")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)

	form := w.slashForm(w.alice, fmt.Sprintf("claim %d", inc.ID))
	req := httptest.NewRequest(http.MethodPost, CommandPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := postingWriter{httptest.NewRecorder(), w.a, w.triage, w.alice}
	w.a.serveCommand(rec, req)
	resp, err := model.CommandResponseFromHTTPBody(rec.Header().Get("Content-Type"), rec.Body)
	if err != nil || resp.ResponseType != model.CommandResponseTypeInChannel {
		t.Fatalf("claim: %+v, %v; want an answer in the channel", resp, err)
	}
	if live, _ := w.a.pending.state(); live != 0 {
		t.Fatalf("%d answers in flight after the answer's post was seen", live)
	}
}
