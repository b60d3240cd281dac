package irc

import (
	"context"
	"strings"
	"time"

	"github.com/lrstanley/girc"
	"github.com/sectriage/sectriage/bot"
)

// onEvent is the one girc handler (ALL_EVENTS). girc runs an event's
// handlers before it reads the next event, so the tracker sees the
// server's lines in order; anything that sends is queued, because a
// blocked handler stalls girc's reader and it drops events after 30 s.
func (s *session) onEvent(c *girc.Client, e girc.Event) {
	now := s.a.now()
	s.mu.Lock()
	eff := s.tr.handle(&e, s.accountTag, now)
	s.runWaiters(&e)
	switch e.Command {
	case girc.RPL_LOGGEDIN:
		s.loggedIn = true
	case girc.RPL_WELCOME:
		// Without the login the configuration asks for, this connection
		// is not one to deliver on.
		s.registered = s.a.opts.SASL.Mechanism == "" || s.loggedIn
		// girc has settled the capabilities by now.
		s.echo = c.HasCapability("echo-message")
		s.accountTag = c.HasCapability("account-tag")
	}
	registered, echo, accountTag, me := s.registered, s.echo, s.accountTag, s.tr.me
	s.mu.Unlock()

	switch e.Command {
	case girc.RPL_WELCOME:
		if !registered {
			// The server did not offer SASL or skipped it: do not stay
			// on as an anonymous nick that anyone may impersonate.
			s.a.log.Error("IRC server ended registration without a SASL login; disconnecting")
			s.fail(errNoLogin)
			return
		}
		if w := s.wire.Load(); w != nil {
			s.lim.reset()
			w.counting.Store(true)
		}
		s.a.log.Info("connected to IRC", "nick", safeNick(me), "echo", echo, "account_tag", accountTag)
		s.a.notify()
		s.do(s.joinTriage)
		s.do(s.joinIncidents)
	case girc.INVITE:
		if len(e.Params) > 1 && s.sameTarget(e.Params[1], s.a.opts.TriageChannel) {
			s.do(s.joinTriage)
		} else if ic, ok := s.incidentByName(e.Last()); ok {
			s.do(func(ctx context.Context) { s.joinIncident(ctx, ic) })
		}
	case girc.ERR_INVITEONLYCHAN, girc.ERR_BADCHANNELKEY, girc.ERR_BANNEDFROMCHAN, girc.ERR_CHANNELISFULL,
		"477", "489", "520": // need a registered nick, TLS only, oper only
		switch {
		case len(e.Params) < 2:
		case s.sameTarget(e.Params[1], s.a.opts.TriageChannel):
			s.joinFailed(e.Command, e.Last())
		case s.ours(e.Params[1]):
			s.incidentJoinFailed(e.Params[1], e.Command, e.Last())
		}
	case girc.PRIVMSG:
		s.onPrivmsg(&e)
	case girc.ERROR:
		s.a.log.Warn("IRC server closed the connection", "reason", e.Last())
	}
	if eff.joined != "" {
		s.a.log.Info("joined IRC channel", "channel", eff.joined)
		s.joinedChannel(eff.joined)
		ch := eff.joined
		s.do(func(ctx context.Context) { s.queryChannel(ctx, ch) })
	}
	if eff.left != "" && s.sameTarget(eff.left, s.a.opts.TriageChannel) {
		s.a.log.Warn("removed from the triage channel; rejoining", "channel", eff.left)
		s.after(2*time.Second, s.joinTriage)
	} else if ic, ok := s.incidentByName(eff.left); ok && eff.left != "" {
		s.a.log.Warn("removed from an incident channel; rejoining", "channel", eff.left)
		s.after(2*time.Second, func(ctx context.Context) {
			if _, live := s.incidentByName(ic.name); live {
				s.joinIncident(ctx, ic)
			}
		})
	}
	if eff.modes != "" {
		ch := eff.modes
		s.do(func(ctx context.Context) { s.checkPrivacy(ctx, ch) })
	} else if eff.members == "*" {
		// Someone logged in or out, or changed nick: the rule may say
		// otherwise now, in any of our channels.
		for _, ch := range s.ourChannels() {
			s.do(func(ctx context.Context) { s.checkPrivacy(ctx, ch) })
		}
	} else if eff.members != "" && s.ours(eff.members) {
		// Someone came or left.
		ch := eff.members
		s.do(func(ctx context.Context) { s.checkPrivacy(ctx, ch) })
	}
	if eff.joined != "" || eff.left != "" || eff.modes != "" || eff.nickChanged || eff.members != "" {
		s.a.notify()
	}
}

// joinTriage joins the triage channel with its key.
func (s *session) joinTriage(ctx context.Context) {
	s.mu.Lock()
	in := s.tr.channel(s.a.opts.TriageChannel) != nil
	s.mu.Unlock()
	if in {
		return
	}
	line := "JOIN " + s.a.opts.TriageChannel
	if s.a.opts.TriageKey != "" {
		line += " " + s.a.opts.TriageKey
	}
	if err := s.send(ctx, prioHigh, line, nil); err != nil && ctx.Err() == nil {
		s.a.log.Warn("could not send JOIN", "err", err)
	}
}

// chanServGrace is how long ChanServ has to invite the bot into an
// invite-only channel before the refusal counts.
const chanServGrace = 10 * time.Second

// joinFailed records why the channel refused us and tries again later. For
// an invite-only channel it asks ChanServ for an invitation, which works
// when the bot's account has access there (the INVITE then triggers a join).
func (s *session) joinFailed(numeric, reason string) {
	s.setJoinErr(numeric + " " + reason)
	s.a.log.Error("cannot join the triage channel", "channel", s.a.opts.TriageChannel, "numeric", numeric, "reason", reason)
	if numeric == girc.ERR_INVITEONLYCHAN {
		s.do(func(ctx context.Context) {
			s.send(ctx, prioHigh, "PRIVMSG ChanServ :INVITE "+s.a.opts.TriageChannel, nil)
		})
	}
	s.after(30*time.Second, s.joinTriage)
	// Still out after ChanServ had its chance: tell the officers.
	s.after(chanServGrace, func(ctx context.Context) {
		if why := s.joinRefusal(s.a.opts.TriageChannel); why != "" && !s.a.opts.readOnly {
			s.a.raiseAlarm(ctx, alarmCannotJoin, s.a.opts.TriageChannel, why)
		}
	})
	s.a.notify()
}

func (s *session) setJoinErr(msg string) {
	s.mu.Lock()
	s.joinErr = msg
	s.mu.Unlock()
}

// joinedChannel forgets a channel's refusal once we are in.
func (s *session) joinedChannel(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sameTarget(channel, s.a.opts.TriageChannel) {
		s.joinErr = ""
	}
	delete(s.refused, s.tr.is.fold(channel))
}

// queryChannel asks for the modes (324) and, with WHOX, the accounts and
// flags of everyone in the channel (354).
func (s *session) queryChannel(ctx context.Context, channel string) {
	s.send(ctx, prioHigh, "MODE "+channel, nil)
	s.mu.Lock()
	whox, tok := s.tr.is.whox, s.tr.whoxToken
	s.mu.Unlock()
	if whox {
		s.send(ctx, prioHigh, "WHO "+channel+" %tcnfa,"+tok, nil)
	}
}

// maxFixTries bounds how often one connection tries to set a channel's
// modes: a server that keeps refusing gets the alarm, not a MODE loop.
const maxFixTries = 3

// privacy is what a channel is for report content right now.
type privacy int

const (
	privUnknown privacy = iota // not in it, modes not read yet, or being fixed
	privPrivate
	privPublic
)

// channelPrivacy decides from the modes read from the server. A channel that
// is not private counts as unknown for ModeGrace after we joined it or sent
// a MODE to fix it: ChanServ's mode lock or our own change is on its way.
func (s *session) channelPrivacy(channel string) (privacy, string) {
	now := s.a.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.tr.channel(channel)
	if c == nil || !c.modesKnown {
		return privUnknown, ""
	}
	if c.modes.private() {
		return privPrivate, c.modes.String()
	}
	grace := s.a.opts.ModeGrace
	if now.Sub(c.joinedAt) < grace || now.Sub(s.fixedAt[s.tr.is.fold(channel)]) < grace {
		return privUnknown, c.modes.String()
	}
	return privPublic, c.modes.String()
}

// checkPrivacy acts on a channel's modes and members: fix the modes when
// allowed and able, raise the alarm when they stay public or an outsider
// is in, resume the outbox and release its held messages when the
// channel passes the privacy rule.
func (s *session) checkPrivacy(ctx context.Context, channel string) {
	p, modes := s.channelPrivacy(channel)
	s.mu.Lock()
	c := s.tr.channel(channel)
	var fix string
	var args []string
	op := c != nil && c.op
	if c != nil && c.modesKnown && !c.modes.private() {
		fix, args = c.modes.missingPrivacy(s.channelKey(channel))
	}
	joinedAt := time.Time{}
	if c != nil {
		joinedAt = c.joinedAt
	}
	fixedAt := s.fixedAt[s.tr.is.fold(channel)]
	tries := s.fixTries[s.tr.is.fold(channel)]
	s.mu.Unlock()

	switch {
	case p == privPrivate:
		s.a.clearAlarms(channel)
		if !s.membersKnown(channel) {
			return // the WHO reply's end brings us back
		}
		if v := s.verdict(channel); !v.OK {
			s.a.alertPrivacy(ctx, v)
			return
		}
		s.mu.Lock()
		first := !s.resumed
		s.resumed = true
		s.mu.Unlock()
		if first && s.a.deps.Outbox != nil && !s.a.opts.readOnly {
			if err := s.a.deps.Outbox.Resume(ctx, bot.PlatformIRC); err != nil {
				s.a.log.Warn("could not resume the outbox", "err", err)
			}
		} else {
			s.releaseHeld()
		}
	case fix == "":
		// Not joined or modes unknown: a later event decides.
	case (s.a.opts.ManageModes || !s.sameTarget(channel, s.a.opts.TriageChannel)) && op && !s.a.opts.readOnly && tries < maxFixTries && s.a.now().Sub(fixedAt) >= s.a.opts.ModeGrace:
		s.mu.Lock()
		s.fixedAt[s.tr.is.fold(channel)] = s.a.now()
		s.fixTries[s.tr.is.fold(channel)]++
		s.mu.Unlock()
		s.a.log.Warn("triage channel is not private; setting its modes", "channel", channel, "modes", modes, "adding", fix)
		s.send(ctx, prioHigh, strings.TrimSpace("MODE "+channel+" "+fix+" "+strings.Join(args, " ")), nil)
		s.after(s.a.opts.ModeGrace, func(ctx context.Context) { s.checkPrivacy(ctx, channel) })
	case p == privUnknown:
		// In the grace period: look again when it is over.
		wait := s.a.opts.ModeGrace - s.a.now().Sub(joinedAt)
		if w := s.a.opts.ModeGrace - s.a.now().Sub(fixedAt); w > wait {
			wait = w
		}
		s.after(max(wait, 10*time.Millisecond), func(ctx context.Context) { s.checkPrivacy(ctx, channel) })
	default:
		s.a.raiseAlarm(ctx, alarmNotPrivate, channel, modes)
	}
}
