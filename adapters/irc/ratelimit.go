package irc

import (
	"sync"
	"time"
)

// tokenBucket paces the lines the bot sends so that the server's flood
// protection never disconnects it. girc's own limiter cannot be configured
// (one line per second plus one per 100 bytes, after an 8 s backlog), so the
// client runs with AllowFlood and this bucket decides instead.
//
// It holds up to burst tokens and gains one every per; each line costs one.
// Lines girc writes on its own (PONG, its keep-alive PING) are charged too,
// even into debt, because the server counts them all the same.
type tokenBucket struct {
	burst  float64
	per    time.Duration
	tokens float64
	last   time.Time
}

func newTokenBucket(burst int, per time.Duration, now time.Time) *tokenBucket {
	if burst < 1 {
		burst = 1
	}
	return &tokenBucket{burst: float64(burst), per: per, tokens: float64(burst), last: now}
}

func (b *tokenBucket) refill(now time.Time) {
	if now.After(b.last) {
		if b.per <= 0 {
			b.tokens = b.burst
		} else {
			b.tokens += float64(now.Sub(b.last)) / float64(b.per)
		}
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	// A clock that went backwards must not mint tokens later: move on from now.
	b.last = now
}

// take spends a token and returns 0, or returns how long to wait until one
// is available (spending nothing).
func (b *tokenBucket) take(now time.Time) time.Duration {
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	missing := 1 - b.tokens
	return time.Duration(missing * float64(b.per))
}

// charge spends a token whether or not there is one: the line has gone out.
func (b *tokenBucket) charge(now time.Time) {
	b.refill(now)
	b.tokens--
}

// reset fills the bucket, for a new connection: the server's flood
// accounting starts from zero too.
func (b *tokenBucket) reset(now time.Time) {
	b.tokens, b.last = b.burst, now
}

// limiter is a tokenBucket behind a mutex, on a clock that tests replace.
type limiter struct {
	mu  sync.Mutex
	b   *tokenBucket
	now func() time.Time
}

func newLimiter(burst int, per time.Duration, now func() time.Time) *limiter {
	return &limiter{b: newTokenBucket(burst, per, now()), now: now}
}

func (l *limiter) take() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.take(l.now())
}

func (l *limiter) charge() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.charge(l.now())
}

func (l *limiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.reset(l.now())
}
