// Package mattermost connects sectriage to a Mattermost server as a bot
// account: incidents are posted, with buttons, into verified private
// channels; /sec slash commands, button clicks and direct messages become
// commands of the shared registry; pings and alerts go out as direct
// messages or channel mentions. Every message comes from the outbox
// (Deliver); the websocket watches the channels' privacy and membership.
package mattermost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// Paths of the callbacks on the bot's HTTP listener.
const (
	CommandPath = "/mattermost/command"
	ActionPath  = "/mattermost/action"
)

// Options configure the adapter. main fills them from [mattermost] and
// [server], with the secrets already read.
type Options struct {
	URL                string // the Mattermost server
	Token              string // the bot account's access token
	Team               string // team name
	TriageChannel      string // private channel name in the team
	ChannelPerIncident bool
	ChannelPrefix      string
	Trigger            string        // slash command trigger, without "/"
	SlashToken         string        // the token Mattermost sends with the slash command
	ButtonSecret       []byte        // HMAC key of the buttons' context
	ButtonTTL          time.Duration // how long a button stays valid
	// PublicURL is how Mattermost reaches the bot's listener; the slash
	// command and the buttons call PublicURL + CommandPath / ActionPath.
	PublicURL      string
	TrustedMembers []string // usernames allowed in the private channels besides [[people]]
	MaxPosts       int      // posts per message before a report becomes a file
	RequestTimeout time.Duration

	// Outbox, when set, is told when the websocket is back, so messages
	// queued while the server was away go at once; *bot.Outbox is one.
	Outbox Resumer

	// For tests; zero values mean the defaults.
	PostLimit   int           // runes per post: model.PostMessageMaxRunesV2
	SlashBudget time.Duration // how long a slash command may run before the answer is deferred
	MinBackoff  time.Duration // first reconnect delay
	MaxBackoff  time.Duration // reconnect delay cap
}

// Service is what the adapter needs from the incident service.
type Service interface {
	Settings() *bot.Settings
	Clock() bot.Clock
	// AlertOfficers queues a deduplicated alert (no report content).
	AlertOfficers(ctx context.Context, key string, text bot.Text) error
	// Discuss keeps a message of an incident's channel in its timeline.
	Discuss(ctx context.Context, a bot.Actor, id int64, said bot.Said) error
}

// Runner runs command lines; *commands.Registry is one.
type Runner interface {
	Run(ctx context.Context, actor bot.Actor, line string, private bool) commands.Reply
	Lookup(name string) *commands.Command
	Commands() []*commands.Command
	// ForIncident completes a command typed in an incident's channel.
	ForIncident(line string, id int64) string
}

// ReportReader produces a report's decrypted body for the new-incident
// post. The intake pipeline implements it; nil means posts carry no body.
type ReportReader interface {
	ReportBody(ctx context.Context, incidentID int64) (bot.Text, error)
}

// Resumer retries a platform's queued messages at once.
type Resumer interface {
	Resume(ctx context.Context, platform string) error
}

// Store is what the adapter keeps in the database (storage.DB).
type Store interface {
	Incident(ctx context.Context, id int64) (*bot.Incident, error)

	MattermostUserPins(ctx context.Context) (map[string]string, error)
	PinMattermostUser(ctx context.Context, username, userID string, at time.Time) (string, error)

	MattermostIncidentChannel(ctx context.Context, incidentID int64) (string, error)
	SetMattermostIncidentChannel(ctx context.Context, incidentID int64, channelID string, at time.Time) error
	MattermostIncidentChannels(ctx context.Context) (map[string]int64, error)

	RecordMattermostPost(ctx context.Context, outboxID int64, part int, postID, channelID string, incidentID int64, nonce string, at time.Time) error
	MattermostPostedParts(ctx context.Context, outboxID int64) (map[int]string, error)
	MattermostButtonPost(ctx context.Context, postID string) (channelID string, incidentID int64, nonce string, err error)
	MattermostButtonPosts(ctx context.Context, incidentID int64) (map[string]string, error)
	SwapMattermostNonce(ctx context.Context, postID, old, next string) (bool, error)

	PostStore
}

// Adapter is the Mattermost platform: a bot.Deliverer, an http.Handler
// for the callbacks, and a Run loop for the websocket.
type Adapter struct {
	opts    Options
	svc     Service
	runner  Runner
	store   Store
	reports ReportReader
	log     *slog.Logger
	client  *model.Client4
	http    *http.Client // for response_url follow-ups

	mu        sync.RWMutex
	conn      *connection       // nil until the start checks passed
	ready     chan struct{}     // closed once conn is set
	hello     chan struct{}     // signalled on each websocket hello, for tests
	wsUp      atomic.Bool       // the websocket is connected and said hello
	incidents map[string]int64  // incident channel id → incident id
	dms       map[string]string // user id → direct channel id
	outbox    Releaser          // releases held messages (privacy.go); may be nil
	alerted   sync.Map          // alert keys queued by this process (privacy.go)
	verdicts  verdicts          // passing privacy verdicts still known to hold (verdicts.go)
	live      atomic.Pointer[liveSession]
	fences    fences  // websocket barriers in flight (barrier.go)
	pending   answers // commands' answers in flight (answers.go)

	// Work started by callbacks (deferred slash answers, post refreshes,
	// DM commands) that Run waits for when it stops.
	background sync.WaitGroup
	sem        chan struct{} // bounds that work
}

var _ bot.Deliverer = (*Adapter)(nil)

// connection is what the start checks learned about the server.
type connection struct {
	botID, botName string
	teamID         string
	triageID       string
	ids            *identities
}

// New makes the adapter; nothing talks to the server before Run. reports
// may be nil.
func New(opts Options, svc Service, runner Runner, store Store, reports ReportReader, log *slog.Logger) (*Adapter, error) {
	if _, err := url.Parse(opts.URL); err != nil || opts.URL == "" {
		return nil, fmt.Errorf("mattermost: bad server URL %q", opts.URL)
	}
	if opts.Token == "" {
		return nil, errors.New("mattermost: the bot's access token is required")
	}
	if opts.PostLimit == 0 {
		opts.PostLimit = model.PostMessageMaxRunesV2
	}
	if opts.PostLimit < 200 {
		return nil, errors.New("mattermost: post limit below 200 runes")
	}
	if opts.MaxPosts < 1 {
		opts.MaxPosts = 4
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 15 * time.Second
	}
	if opts.SlashBudget <= 0 {
		opts.SlashBudget = 2 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.ButtonTTL <= 0 {
		opts.ButtonTTL = 30 * 24 * time.Hour
	}
	if opts.Trigger == "" {
		opts.Trigger = "sec"
	}
	if opts.ChannelPrefix == "" {
		opts.ChannelPrefix = "sec-"
	}
	opts.URL = strings.TrimRight(opts.URL, "/")
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	client := model.NewAPIv4Client(opts.URL)
	// Every call also gets a context deadline; this is the backstop.
	client.HTTPClient = &http.Client{Timeout: opts.RequestTimeout + 5*time.Second}
	client.SetToken(opts.Token)
	return &Adapter{
		opts: opts, svc: svc, runner: runner, store: store, reports: reports,
		log:       log.With("adapter", "mattermost"),
		client:    client,
		http:      &http.Client{Timeout: opts.RequestTimeout},
		incidents: map[string]int64{},
		dms:       map[string]string{},
		ready:     make(chan struct{}),
		hello:     make(chan struct{}, 1),
		sem:       make(chan struct{}, 8),
	}, nil
}

// Handler serves the slash command and the button callbacks; mount it on
// the listener at /mattermost/.
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CommandPath, a.serveCommand)
	mux.HandleFunc("POST "+ActionPath, a.serveAction)
	mux.HandleFunc("POST "+DialogPath, a.serveDialog)
	return mux
}

// Run checks the account, the team and the people at start (retrying
// while the server is unreachable; a rejected token or a missing team is
// an error), then keeps the websocket open until ctx ends.
func (a *Adapter) Run(ctx context.Context) error {
	// Register and check work without these; serving users does not.
	if a.opts.SlashToken == "" {
		return errors.New("mattermost: the slash command token is required (slash_token_file)")
	}
	if len(a.opts.ButtonSecret) < 16 {
		return errors.New("mattermost: the button secret must be at least 16 bytes (head -c 32 /dev/urandom | base64)")
	}
	defer a.background.Wait()
	bo := a.backoff()
	for {
		err := a.start(ctx)
		if err == nil {
			break
		}
		var cfgErr *configError
		if errors.As(err, &cfgErr) {
			return fmt.Errorf("mattermost: %w", err)
		}
		if !a.answers(ctx) {
			a.log.Warn("cannot reach Mattermost; waiting for it to answer", "err", err)
			if !a.awaitServer(ctx) {
				return nil
			}
			continue
		}
		d := bo.next()
		a.log.Warn("cannot reach Mattermost; retrying", "in", d.Round(time.Millisecond), "err", err)
		if !wait(ctx, d) {
			return nil
		}
	}
	return a.listen(ctx)
}

// Connected reports whether the websocket is up: the server accepted the
// token and said hello, so direct-message commands and the channel watch
// work. Health checks read it.
func (a *Adapter) Connected() bool { return a.wsUp.Load() }

// Ready is closed once the start checks have passed and the adapter
// serves callbacks and deliveries.
func (a *Adapter) Ready() <-chan struct{} { return a.ready }

// current returns the connection once the start checks passed.
func (a *Adapter) current() (*connection, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.conn == nil {
		return nil, errors.New("mattermost: not connected yet")
	}
	return a.conn, nil
}

// call gives an API call its deadline.
func (a *Adapter) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.opts.RequestTimeout)
}

// goBackground runs fn beside the request that asked for it, bounded and
// awaited by Run.
func (a *Adapter) goBackground(fn func()) {
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		a.sem <- struct{}{}
		defer func() { <-a.sem }()
		fn()
	}()
}

func (a *Adapter) location() *time.Location {
	if loc := a.svc.Settings().Location; loc != nil {
		return loc
	}
	return time.UTC
}

// backoff doubles a delay from MinBackoff up to MaxBackoff.
type backoff struct{ cur, min, max time.Duration }

func (a *Adapter) backoff() *backoff {
	return &backoff{min: a.opts.MinBackoff, max: a.opts.MaxBackoff}
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// wait sleeps for d or until ctx ends; it reports whether ctx is still live.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
