package irc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lrstanley/girc"
	"github.com/sectriage/sectriage/bot"
)

// CheckResult is what `sectriage check` learns about IRC.
type CheckResult struct {
	Nick      string // the nick the server gave the check connection
	LoggedIn  bool   // SASL login succeeded
	Channel   string
	Joined    bool
	JoinError string // why the channel refused us, when it did
	Modes     string // e.g. "+knst" (the key's value is not shown)
	Private   bool   // +s and (+i or +k)
	Op        bool   // the bot has operator status there
	// Verdict is the privacy rule's on the channel as found: modes, and
	// everyone in it by services account.
	Verdict bot.Verdict
}

// checkTimeout bounds a check: connecting takes a few seconds at most.
const checkTimeout = 45 * time.Second

// Check connects as the bot would, joins the triage channel, reads its
// modes and who is in it from the server and quits; people are the
// declared people the privacy rule accepts as members. It changes
// nothing: no modes are set and no alarm is raised, whatever it finds. An
// error means the server could not be reached or refused the bot (TLS,
// SASL, ...).
func Check(ctx context.Context, opts Options, people *bot.People, log *slog.Logger) (CheckResult, error) {
	opts.readOnly = true
	opts.ReconnectMin, opts.ReconnectMax = time.Hour, time.Hour // one attempt
	a := New(opts, Deps{Service: checkService{&bot.Settings{People: people}}}, log)
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	ran := make(chan struct{})
	go func() {
		a.Run(cctx)
		close(ran)
	}()
	defer func() {
		cancel()
		<-ran
	}()
	res := CheckResult{Channel: opts.TriageChannel}
	// An invite-only channel refuses the first JOIN; the session has asked
	// ChanServ for an invitation, which is given the time the daemon gives
	// it before raising its alarm.
	var grace <-chan time.Time
	graceOver := false
	for {
		s, changed := a.current()
		if s != nil && s.isRegistered() {
			if done := s.checkSnapshot(&res); done {
				if res.Joined || graceOver || !strings.HasPrefix(res.JoinError, girc.ERR_INVITEONLYCHAN+" ") {
					return res, nil
				}
				if grace == nil {
					t := time.NewTimer(chanServGrace)
					defer t.Stop()
					grace = t.C
				}
			}
		} else if err := a.LastError(); err != nil {
			return res, err
		}
		select {
		case <-changed:
		case <-grace:
			graceOver = true
		case <-cctx.Done():
			if err := a.LastError(); err != nil {
				return res, err
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			return res, fmt.Errorf("no answer in %v (joined %v, modes %q)", checkTimeout, res.Joined, res.Modes)
		}
	}
}

// checkSnapshot fills res and reports whether the check has its answer.
func (s *session) checkSnapshot(res *CheckResult) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	res.Nick, res.LoggedIn, res.JoinError = s.tr.me, s.loggedIn, s.joinErr
	c := s.tr.channel(s.a.opts.TriageChannel)
	res.Joined = c != nil
	if c != nil {
		res.Op = c.op
		if c.modesKnown && c.membersKnown {
			res.Modes, res.Private = c.modes.String(), c.modes.private()
			p := privPublic
			if res.Private {
				p = privPrivate
			}
			res.Verdict = bot.MayReceive(s.placeFactsLocked(s.a.opts.TriageChannel, p, res.Modes))
			return true
		}
	}
	return res.JoinError != ""
}

// checkService gives a check the people; it alerts nobody (a check is
// read-only, so nothing calls AlertOfficers).
type checkService struct{ st *bot.Settings }

func (c checkService) Settings() *bot.Settings { return c.st }
func (checkService) AlertOfficers(context.Context, string, bot.Text) error {
	return nil
}

// errCheckFailed is for callers that want one error for a bad result.
var errCheckFailed = errors.New("irc check failed")

// Err summarises a result as an error, nil when report content may be
// posted in the channel.
func (r CheckResult) Err() error {
	switch {
	case !r.Joined && r.JoinError != "":
		return fmt.Errorf("%w: cannot join %s: %s", errCheckFailed, r.Channel, r.JoinError)
	case !r.Joined:
		return fmt.Errorf("%w: not in %s", errCheckFailed, r.Channel)
	case !r.Private:
		return fmt.Errorf("%w: %s is not private (modes %s; it needs +s and +i or +k)", errCheckFailed, r.Channel, r.Modes)
	case !r.Verdict.OK:
		return fmt.Errorf("%w: %s", errCheckFailed, r.Verdict.Reason)
	}
	return nil
}
