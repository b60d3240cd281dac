// Package irc is sectriage's IRC adapter: it keeps one connection to an IRC
// network (TLS, SASL), sits in a private triage channel, runs `!commands`
// from people identified by their services account, and delivers the
// outbox's messages there or by private message.
//
// On IRC anyone can take any free nick, so nothing here trusts a nick:
// commands are authorised by the account the server vouches for (the
// account-tag on the message, else what extended-join, account-notify and
// WHOX said), and report content is posted only into a channel whose modes
// were read from the server at that moment and are +s and +i or +k.
package irc

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// Options configure the adapter. main builds them from the [irc] section,
// with the secrets read and the TLS configuration made.
type Options struct {
	// Server is host:port.
	Server string
	// TLS, when set, dials with it (see TLSConfig); nil is plain text.
	TLS *tls.Config
	// Nick is tried first, then AltNicks, then Nick with "_" appended.
	Nick     string
	AltNicks []string
	User     string // ident; default: Nick
	RealName string
	// ServerPassword is sent with PASS before registering, when set.
	ServerPassword string
	// SASL logs in during registration. With a mechanism set, a connection
	// that ends registration without being logged in is dropped.
	SASL SASL

	// TriageChannel is where incidents are posted and commands taken;
	// TriageKey is its key (+k), used to join and when setting modes.
	TriageChannel string
	TriageKey     string
	// Prefix starts a command in the channel ("!claim 42"); in a private
	// message it may be left out.
	Prefix string
	// ManageModes lets the bot, when it is channel operator, set +s and +k
	// (with TriageKey) or +i on a channel that is not private.
	ManageModes bool

	// Burst lines go out at once, then one every PerLine.
	Burst   int
	PerLine time.Duration
	// MaxBodyLines cuts a report body after that many IRC lines; 0 posts no
	// body at all. FullReport says where the rest is, "{id}" standing for
	// the incident number.
	MaxBodyLines int
	FullReport   string
	// BacklogLimit: when what is queued for IRC would take longer than
	// this at the pace above, new incidents are posted as one line each
	// (burst.go; needs Deps.Queue). Default one minute.
	BacklogLimit time.Duration

	// ReconnectMin and ReconnectMax bound the delay between connection
	// attempts, which doubles (with jitter) while they fail.
	ReconnectMin, ReconnectMax time.Duration
	// ModeGrace is how long a channel that is not private yet may become so
	// (ChanServ setting its mode lock after the channel was recreated, our
	// own MODE) before content is withheld and the alarm raised.
	ModeGrace time.Duration

	// ChannelPerIncident gives each incident its own private channel,
	// named from IncidentChannel ("{id}", "{random}"); needs
	// Deps.Channels.
	ChannelPerIncident bool
	IncidentChannel    string
	// TrustedAccounts are services accounts allowed in the private
	// channels besides declared people and the bot.
	TrustedAccounts []string

	// readOnly is set by Check: no mode changes, no alarms.
	readOnly bool
}

// SASL mechanisms.
const (
	SASLPlain    = "PLAIN"
	SASLExternal = "EXTERNAL" // the client certificate in TLS
)

// SASL is how the bot logs in to its services account.
type SASL struct {
	Mechanism string // "", SASLPlain or SASLExternal
	Account   string
	Password  string // PLAIN only
}

func (o *Options) defaults() {
	if o.User == "" {
		// An ident is stricter than a nick: letters and digits only.
		o.User = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, strings.ToLower(o.Nick))
		if len(o.User) > 10 {
			o.User = o.User[:10]
		}
		if o.User == "" {
			o.User = "sectriage"
		}
	}
	if o.RealName == "" {
		o.RealName = "sectriage security desk"
	}
	if o.Prefix == "" {
		o.Prefix = "!"
	}
	if o.Burst <= 0 {
		o.Burst = 4
	}
	if o.PerLine <= 0 {
		o.PerLine = 2 * time.Second
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = 2 * time.Second
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = max(5*time.Minute, o.ReconnectMin)
	}
	if o.BacklogLimit <= 0 {
		o.BacklogLimit = time.Minute
	}
	if o.IncidentChannel == "" {
		o.IncidentChannel = "#sec-{id}"
	}
	if o.ModeGrace <= 0 {
		o.ModeGrace = 5 * time.Second
	}
}

// Service is what the adapter needs of the domain; *bot.Service is one.
type Service interface {
	// Settings gives the people directory in force (it may be reloaded).
	Settings() *bot.Settings
	// AlertOfficers raises an alarm on every platform, once per key.
	AlertOfficers(ctx context.Context, key string, text bot.Text) error
}

// Commands runs chat commands; *commands.Registry is one.
type Commands interface {
	Run(ctx context.Context, actor bot.Actor, line string, private bool) commands.Reply
}

// ReportBodies gives a report's decrypted text for the new-incident post.
// The intake pipeline implements it; commands.ReportReader has the same
// method.
type ReportBodies interface {
	ReportBody(ctx context.Context, incidentID int64) (bot.Text, error)
}

// Resumer retries a platform's queued messages at once; *bot.Outbox is one.
// The adapter calls it when it is back in a private channel, so messages
// queued during an outage do not wait out the outbox's backoff.
type Resumer interface {
	Resume(ctx context.Context, platform string) error
}

// Deps are the adapter's collaborators. Commands, Reports and Outbox may be
// nil: no commands are taken, new incidents are posted without the report
// body, the outbox is not woken.
type Deps struct {
	Service  Service
	Commands Commands
	Reports  ReportBodies
	Outbox   Resumer
	// Channels keeps the per-incident channels (ChannelPerIncident).
	Channels IncidentChannels
	// Record keeps what is said in them in the incident's timeline.
	Record Discusser
	// Queue shows what waits for IRC, for bursts (burst.go).
	Queue Queue
}

// Adapter is the IRC adapter. Run keeps it connected; Deliver sends the
// outbox's messages.
type Adapter struct {
	opts Options
	deps Deps
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	sess    *session      // the current connection, nil between connections
	changed chan struct{} // closed and replaced when anything Deliver waits for changes
	lastErr error         // why the last connection attempt ended
	alarmed map[string]bool
	replied map[string]time.Time // outsider nick -> when last refused
	// incChans are the live incident channels, by incident id.
	incChans map[int64]incidentChan
	briefing bool // a burst: new incidents get one line each

	deliverMu sync.Mutex // one delivery at a time keeps the outbox's order
}

var _ bot.Deliverer = (*Adapter)(nil)

// New makes the adapter. Call Run to connect.
func New(opts Options, deps Deps, log *slog.Logger) *Adapter {
	opts.defaults()
	return &Adapter{
		opts: opts, deps: deps, log: log.With("adapter", "irc"), now: time.Now,
		changed: make(chan struct{}), alarmed: map[string]bool{}, replied: map[string]time.Time{},
		incChans: map[int64]incidentChan{},
	}
}

// notify wakes everything waiting for the connection or a channel to change.
func (a *Adapter) notify() {
	a.mu.Lock()
	close(a.changed)
	a.changed = make(chan struct{})
	a.mu.Unlock()
}

// current returns the connection and the channel that will be closed at
// its next change.
func (a *Adapter) current() (*session, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sess, a.changed
}

func (a *Adapter) setSession(s *session, err error) {
	a.mu.Lock()
	a.sess = s
	if err != nil {
		a.lastErr = err
	}
	close(a.changed)
	a.changed = make(chan struct{})
	a.mu.Unlock()
}

// LastError is why the last connection attempt failed or ended, if it did.
func (a *Adapter) LastError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr
}

// Connected reports whether the bot is registered on the network now.
func (a *Adapter) Connected() bool {
	s, _ := a.current()
	return s != nil && s.isRegistered()
}

// Status is a snapshot of the connection, for health checks and tests.
type Status struct {
	Connected bool   // registered on the network
	Nick      string // our nick
	Channel   string // the triage channel
	Joined    bool
	Modes     string // as read from the server, e.g. "+knst"
	// Private says report content may be posted in the channel now: it
	// passes the privacy rule (modes and members); Refused says why not.
	Private   bool
	Refused   string
	JoinError string // why the channel refused us, when it did
}

// Status reports the connection and the triage channel as of now.
func (a *Adapter) Status() Status {
	st := Status{Channel: a.opts.TriageChannel}
	s, _ := a.current()
	if s == nil || !s.isRegistered() {
		return st
	}
	v := s.verdict(a.opts.TriageChannel)
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Connected, st.Nick, st.JoinError = true, s.tr.me, s.joinErr
	if c := s.tr.channel(a.opts.TriageChannel); c != nil {
		st.Joined = true
		if c.modesKnown {
			st.Modes = c.modes.String()
		}
	}
	st.Private, st.Refused = v.OK, v.Reason
	return st
}

// WaitStatus waits until cond holds, or ctx ends.
func (a *Adapter) WaitStatus(ctx context.Context, cond func(Status) bool) (Status, error) {
	for {
		_, changed := a.current()
		st := a.Status()
		if cond(st) {
			return st, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}
