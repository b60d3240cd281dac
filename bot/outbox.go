package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Channels a message can go to on a chat platform.
const (
	// ChannelTriage is the platform's private triage channel.
	ChannelTriage = "triage"
	// ChannelIncident is where the incident is discussed: its own private
	// channel when the platform makes one, else the triage channel.
	ChannelIncident = "incident"
)

// Destination says where a message goes. Exactly one of Channel, Person and
// Address is set.
type Destination struct {
	Platform string `json:"platform"`
	Channel  string `json:"channel,omitempty"` // ChannelTriage or ChannelIncident
	Person   string `json:"person,omitempty"`  // a declared person's name: a ping or DM
	Address  string `json:"address,omitempty"` // an e-mail address (replies to reporters)
}

func (d Destination) String() string {
	switch {
	case d.Person != "":
		return d.Platform + ":@" + d.Person
	case d.Address != "":
		return d.Platform + ":<address>" // addresses stay out of logs
	default:
		return d.Platform + ":#" + d.Channel
	}
}

// Message kinds, so adapters can present each one properly.
const (
	MessageNotice      = "notice"       // something changed on an incident
	MessageNewIncident = "new-incident" // a report became an incident: summary (+ body)
	MessagePing        = "ping"         // a person is asked to act
	MessageEscalation  = "escalation"
	MessageDigest      = "digest"
	MessageAlert       = "alert"      // to officers: something is wrong (privacy, delivery)
	MessageQuarantine  = "quarantine" // a report could not be accepted
	MessageMail        = "mail"       // an e-mail to a reporter
	MessageRelay       = "relay"      // said in an incident's channel on another platform
)

// OutboxMessage is a message waiting to be sent. Everything the bot says
// goes through the outbox table first, so a crash or an unreachable server
// never loses a message.
type OutboxMessage struct {
	ID         int64
	Dest       Destination
	Kind       string
	IncidentID int64 // 0 when not about one incident
	Text       Text
	// Confidential messages carry report content (title, body): adapters
	// deliver them only to a destination verified private at that moment.
	Confidential bool
	// DedupeKey, when set, makes a second message with the same key a no-op,
	// so a ping is never sent twice for the same incident and period.
	DedupeKey string

	Created     time.Time
	Attempts    int
	NextAttempt time.Time
	LastError   string
	// Sent is how many parts of the message (IRC lines) earlier attempts
	// got to the server: an attempt starts after them, so a post cut off
	// by a lost connection is not repeated from its first line.
	Sent int

	// recordSent, set by the outbox for the length of one attempt, stores
	// a new Sent (nil outside an attempt, or with a store that cannot).
	recordSent func(ctx context.Context, sent int) error
}

// RecordSent tells the outbox that the first sent parts of the message
// have reached the server, so a later attempt starts after them. Adapters
// that send a message in parts call it after each part the server has
// confirmed; it does nothing outside an outbox delivery.
func (m OutboxMessage) RecordSent(ctx context.Context, sent int) error {
	if m.recordSent == nil {
		return nil
	}
	return m.recordSent(ctx, sent)
}

// Deliverer sends messages of one platform.
type Deliverer interface {
	Deliver(ctx context.Context, m OutboxMessage) error
}

// DeliverFunc adapts a function to a Deliverer.
type DeliverFunc func(ctx context.Context, m OutboxMessage) error

func (f DeliverFunc) Deliver(ctx context.Context, m OutboxMessage) error { return f(ctx, m) }

// PermanentError marks a delivery failure that retrying cannot fix (the
// person has no account on the platform). A destination failing the
// privacy rule is not one: see HeldError.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so the outbox gives up on the message.
func Permanent(err error) error { return &PermanentError{Err: err} }

// DeferrerStore is implemented by stores that can push back every pending
// message of a platform at once, so one unreachable server does not make
// the worker spin through its backlog.
type DeferrerStore interface {
	DeferPlatform(ctx context.Context, platform string, until time.Time) error
}

// ResumerStore is implemented by stores that can make every pending
// message of a platform due now: the undo of DeferPlatform, for an adapter
// that is connected again.
type ResumerStore interface {
	ResumePlatform(ctx context.Context, platform string, now time.Time) error
}

// SentStore is implemented by stores that keep a message's progress
// (OutboxMessage.Sent) between attempts.
type SentStore interface {
	MarkSent(ctx context.Context, id int64, sent int) error
}

// Outbox delivers queued messages through the registered adapters, retrying
// with exponential backoff while an adapter fails.
type Outbox struct {
	store      OutboxStore
	clock      Clock
	log        *slog.Logger
	deliverers map[string]Deliverer

	mu    sync.Mutex
	wakes []chan struct{} // one per worker of a running Run

	MinBackoff time.Duration // first retry delay
	MaxBackoff time.Duration // retry delay cap
	BatchSize  int
	// Idle is how long the worker waits when nothing is pending and
	// nobody wakes it: a safety net for messages enqueued by another
	// process (`sectriage cmd`, `sectriage ingest`), whose commits the
	// daemon otherwise notices and calls Wake for.
	Idle time.Duration
	// HeldRetry is how often held messages are tried again without an
	// event from their platform: the safety net for a fix the adapter was
	// not told of.
	HeldRetry time.Duration
	// Observe, when set, is told the result of every delivery attempt,
	// once the outcome is recorded in the store.
	// Run calls it from several goroutines at once (one per platform).
	Observe func(m OutboxMessage, err error)
}

// NewOutbox makes a worker. Register deliverers before Run.
func NewOutbox(store OutboxStore, clock Clock, log *slog.Logger) *Outbox {
	return &Outbox{
		store:      store,
		clock:      clock,
		log:        log.With("component", "outbox"),
		deliverers: map[string]Deliverer{},
		MinBackoff: time.Second,
		MaxBackoff: 5 * time.Minute,
		BatchSize:  100,
		Idle:       2 * time.Second,
		HeldRetry:  2 * time.Minute,
	}
}

// Register sets the deliverer for a platform.
func (o *Outbox) Register(platform string, d Deliverer) { o.deliverers[platform] = d }

// Platforms are the platforms with a registered deliverer, sorted.
func (o *Outbox) Platforms() []string {
	out := make([]string, 0, len(o.deliverers))
	for p := range o.deliverers {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Wake tells the workers that new messages are waiting. It never blocks.
func (o *Outbox) Wake() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, w := range o.wakes {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// Resume tells the worker that a platform is reachable again: its pending
// messages, pushed back by the retry backoff while it was down, become due
// now instead of after up to MaxBackoff. Adapters call it when they have
// reconnected.
func (o *Outbox) Resume(ctx context.Context, platform string) error {
	if rs, ok := o.store.(ResumerStore); ok {
		if err := rs.ResumePlatform(ctx, platform, o.clock.Now()); err != nil {
			return fmt.Errorf("resuming %s: %w", platform, err)
		}
	}
	// Whatever changed while we were away is seen only now.
	return o.Release(ctx, platform)
}

// Release tells the worker that a platform's destinations changed (a
// channel's modes, type or members): its held messages are due now, and
// each asks the privacy rule again. Adapters call it on every such event.
func (o *Outbox) Release(ctx context.Context, platform string) error {
	if err := o.store.ReleaseHeld(ctx, OutboxFilter{Platforms: []string{platform}}, o.clock.Now()); err != nil {
		return fmt.Errorf("releasing held messages of %s: %w", platform, err)
	}
	o.Wake()
	return nil
}

// Run delivers messages until ctx ends. Each registered platform has a
// worker of its own, so a platform that is slow to take a message (IRC,
// paced to a line a second; a server that hangs until the request
// timeout) holds up only its own queue, never another platform's. One more
// worker gives up the messages of platforms without an adapter.
func (o *Outbox) Run(ctx context.Context) error {
	registered := o.Platforms()
	queues := []OutboxFilter{{Platforms: registered, Except: true}}
	for _, p := range registered {
		queues = append(queues, OutboxFilter{Platforms: []string{p}})
	}
	var wg sync.WaitGroup
	for _, q := range queues {
		wake := make(chan struct{}, 1)
		o.mu.Lock()
		o.wakes = append(o.wakes, wake)
		o.mu.Unlock()
		wg.Go(func() { o.work(ctx, q, wake) })
	}
	wg.Wait()
	o.mu.Lock()
	o.wakes = nil
	o.mu.Unlock()
	return nil
}

// work delivers the messages of queue until ctx ends.
func (o *Outbox) work(ctx context.Context, queue OutboxFilter, wake <-chan struct{}) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	released := o.clock.Now()
	for {
		if now := o.clock.Now(); o.HeldRetry > 0 && now.Sub(released) >= o.HeldRetry {
			released = now
			if err := o.store.ReleaseHeld(ctx, queue, now); err != nil && ctx.Err() == nil {
				o.log.Error("could not release held messages", "err", err)
			}
		}
		if err := o.flush(ctx, queue); err != nil && ctx.Err() == nil {
			o.log.Error("outbox round failed", "err", err)
		}
		wait := o.Idle
		if o.HeldRetry > 0 {
			wait = min(wait, max(o.HeldRetry-o.clock.Now().Sub(released), 10*time.Millisecond))
		}
		if next, err := o.store.NextAttemptWhere(ctx, queue); err == nil && !next.IsZero() {
			if d := next.Sub(o.clock.Now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// Flush delivers every message that is due now, once, and returns. The demo
// and tests use it to deliver synchronously.
func (o *Outbox) Flush(ctx context.Context) error { return o.flush(ctx, OutboxFilter{}) }

// flush delivers the due messages queue selects, each platform's in order.
func (o *Outbox) flush(ctx context.Context, queue OutboxFilter) error {
	for {
		now := o.clock.Now()
		msgs, err := o.store.DueMessagesWhere(ctx, queue, now, o.BatchSize)
		if err != nil {
			return fmt.Errorf("reading the outbox: %w", err)
		}
		blocked := map[string]bool{} // keeps each platform's messages in order
		progressed := false
		for _, m := range msgs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if blocked[m.Dest.Platform] {
				continue
			}
			if o.deliver(ctx, m, now) {
				progressed = true
			} else {
				blocked[m.Dest.Platform] = true
			}
		}
		if !progressed || len(msgs) < o.BatchSize {
			return nil
		}
	}
}

// deliver tries one message and records the outcome. It reports whether the
// message left the queue (delivered or given up).
func (o *Outbox) deliver(ctx context.Context, m OutboxMessage, now time.Time) bool {
	d, ok := o.deliverers[m.Dest.Platform]
	var err error
	if !ok {
		err = Permanent(fmt.Errorf("no adapter for platform %q is configured", m.Dest.Platform))
	} else {
		attempt := m
		if ss, ok := o.store.(SentStore); ok && m.ID != 0 {
			attempt.recordSent = func(ctx context.Context, sent int) error { return ss.MarkSent(ctx, m.ID, sent) }
		}
		err = safeDeliver(ctx, d, attempt)
	}
	if o.Observe != nil {
		// After the outcome is recorded, so whoever is told of an attempt
		// finds the store already saying so.
		defer o.Observe(m, err)
	}
	log := o.log.With("id", m.ID, "kind", m.Kind, "dest", m.Dest.String(), "incident", m.IncidentID)
	if err == nil {
		if err := o.store.MarkDelivered(ctx, m.ID, o.clock.Now()); err != nil {
			// Delivered but not recorded: it may be sent again after a restart.
			// At-least-once is the price of never losing a message.
			log.Error("delivered but could not record it", "err", err)
		}
		return true
	}
	var held *HeldError
	if errors.As(err, &held) {
		// Never dropped: kept until the destination passes the rule.
		log.Warn("message held: its destination fails the privacy rule", "reason", held.Verdict.Reason)
		if err := o.store.MarkHeld(ctx, m.ID, now, held.Verdict.Reason); err != nil {
			log.Error("could not record held message", "err", err)
		}
		return true
	}
	var perm *PermanentError
	if errors.As(err, &perm) {
		log.Error("giving up on message", "err", err)
		if err := o.store.MarkDead(ctx, m.ID, now, err.Error()); err != nil {
			log.Error("could not record failed message", "err", err)
		}
		return true
	}
	attempts := m.Attempts + 1
	next := now.Add(o.backoff(attempts))
	log.Warn("delivery failed, will retry", "attempt", attempts, "retry_at", next, "err", err)
	if err := o.store.MarkRetry(ctx, m.ID, attempts, next, err.Error()); err != nil {
		log.Error("could not record retry", "err", err)
	}
	if ds, ok := o.store.(DeferrerStore); ok {
		if err := ds.DeferPlatform(ctx, m.Dest.Platform, next); err != nil {
			log.Error("could not defer platform", "err", err)
		}
	}
	return false
}

func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.MinBackoff
	for i := 1; i < attempts && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// safeDeliver turns an adapter panic into an error: a bad message must not
// take the daemon down, and retrying would only panic again.
func safeDeliver(ctx context.Context, d Deliverer, m OutboxMessage) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("adapter panicked: %v", r))
		}
	}()
	return d.Deliver(ctx, m)
}
