package irc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lrstanley/girc"
)

// CheckResult is what `sectriage check` learns about IRC.
type CheckResult struct {
	Nick      string // the nick the server gave the check connection
	LoggedIn  bool   // SASL login succeeded
	Channel   string
	Joined    bool
	JoinError string // why the channel refused us, when it did
	Modes     string // e.g. "+knst" (the key's value is not shown)
	Private   bool   // +s and (+i or +k): report content may be posted
	Op        bool   // the bot has operator status there
}

// checkTimeout bounds a check: connecting takes a few seconds at most.
const checkTimeout = 45 * time.Second

// Check connects as the bot would, joins the triage channel, reads its
// modes from the server and quits. It changes nothing: no modes are set
// and no alarm is raised, whatever it finds. An error means the server
// could not be reached or refused the bot (TLS, SASL, ...).
func Check(ctx context.Context, opts Options, log *slog.Logger) (CheckResult, error) {
	opts.readOnly = true
	opts.ReconnectMin, opts.ReconnectMax = time.Hour, time.Hour // one attempt
	a := New(opts, Deps{}, log)
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
		if c.modesKnown {
			res.Modes, res.Private = c.modes.String(), c.modes.private()
			return true
		}
	}
	return res.JoinError != ""
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
	}
	return nil
}
