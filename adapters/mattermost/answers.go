package mattermost

import (
	"cmp"
	"context"
	"sync"
	"time"
)

// Answers first. What a user waits for is the answer to their command;
// what the command sets off (the incident's post refreshed, the outbox's
// messages to others) they do not wait for. Started by the commit, that
// work reached Mattermost while it was still turning the answer into a
// post, and on a server with two cores it doubled the user's wait: in a
// claim, the post update took 15 ms and the direct message to the
// previous assignee 11 ms, side by side with the answer, which came
// 9 ms after the bot had written it instead of 3.
//
// So the adapter's own background calls to Mattermost (Deliver, post
// refreshes) first wait, through yield, until no answer is in flight: an
// answer is in flight from the moment its request arrives until
// Mattermost has posted it (the websocket brings the post), or, when only
// its user sees it, until it is written. Nothing is dropped or reordered,
// only started a few milliseconds later, and never more than yieldMax
// later, so that a stream of commands cannot hold deliveries back; an
// answer whose post never shows (the websocket is down) stops counting
// after answerMax.
const (
	answerMax = 500 * time.Millisecond
	yieldMax  = 250 * time.Millisecond
)

// answers are the answers in flight.
type answers struct {
	// The bounds, read under mu; zero means answerMax and yieldMax (tests
	// shorten them).
	answerMax, yieldMax time.Duration

	mu      sync.Mutex
	live    map[*answer]bool
	idle    chan struct{} // closed when live is empty; nil before the first answer
	expired int           // answers that stopped counting at answerMax
}

// answer is one command's answer in flight.
type answer struct {
	// Set once the answer is written to go into a channel: the posts
	// still to come from Mattermost, which user's they are and where.
	channel, user string
	posts         int
	timer         *time.Timer
}

// begin counts an answer in flight from now on.
func (s *answers) begin() *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.live) == 0 {
		s.idle = make(chan struct{})
	}
	if s.live == nil {
		s.live = map[*answer]bool{}
	}
	an := &answer{}
	s.live[an] = true
	an.timer = time.AfterFunc(cmp.Or(s.answerMax, answerMax), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.remove(an) {
			s.expired++
		}
	})
	return an
}

// posting says the answer was written and Mattermost will post it as
// user's in channel, in posts posts: it stays in flight until they are
// seen. With no posts to come it ends now.
func (s *answers) posting(an *answer, channel, user string, posts int) {
	if posts <= 0 {
		s.end(an)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	an.channel, an.user, an.posts = channel, user, posts
}

// seen takes a post a command's answer made (Mattermost marks them
// from_webhook) and ends the answer it completes.
func (s *answers) seen(channel, user string) {
	s.mu.Lock()
	var done *answer
	for an := range s.live {
		if an.posts > 0 && an.channel == channel && an.user == user {
			if an.posts--; an.posts == 0 {
				done = an
			}
			break
		}
	}
	s.mu.Unlock()
	if done != nil {
		s.end(done)
	}
}

// end stops counting an answer; ending it again does nothing.
func (s *answers) end(an *answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(an)
}

func (s *answers) remove(an *answer) bool {
	if !s.live[an] {
		return false
	}
	an.timer.Stop()
	delete(s.live, an)
	if len(s.live) == 0 {
		close(s.idle)
	}
	return true
}

// state returns how many answers are in flight and how many expired.
func (s *answers) state() (live, expired int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live), s.expired
}

// yield waits until no answer is in flight, yieldMax at most.
func (s *answers) yield(ctx context.Context) {
	s.mu.Lock()
	idle, busy, limit := s.idle, len(s.live) > 0, cmp.Or(s.yieldMax, yieldMax)
	s.mu.Unlock()
	if !busy {
		return
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}
