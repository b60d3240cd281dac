package irc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lrstanley/girc"
	"github.com/sectriage/sectriage/bot"
)

// confirmTimeout bounds the wait for the server to have handled a message.
const confirmTimeout = time.Minute

// Deliver sends one outbox message: channel messages into the triage
// channel, only while it passes the privacy rule (bot.MayReceive: private
// modes, and nobody in it but the team); messages for a person as a
// private message to the nick logged in to their account, or a highlight
// in the channel when they asked for that (notify = "channel") or cannot
// be found. It returns once the server has handled the last line (its echo,
// or a PONG), so a connection lost mid-message means a retry, not a loss.
func (a *Adapter) Deliver(ctx context.Context, m bot.OutboxMessage) error {
	a.deliverMu.Lock()
	defer a.deliverMu.Unlock()
	s, _ := a.current()
	if s == nil || !s.isRegistered() {
		return errNotConnected
	}
	if m.Dest.Person != "" {
		return a.deliverToPerson(ctx, s, m)
	}
	if m.Dest.Channel != bot.ChannelTriage && m.Dest.Channel != bot.ChannelIncident {
		return bot.Permanent(fmt.Errorf("IRC has no channel %q", m.Dest.Channel))
	}
	ch := a.opts.TriageChannel
	perIncident := m.Dest.Channel == bot.ChannelIncident && a.opts.ChannelPerIncident && m.IncidentID != 0
	if perIncident {
		if a.deps.Channels == nil {
			return bot.Permanent(errNoChannels)
		}
		var err error
		if ch, err = a.incidentChannel(ctx, s, m.IncidentID); err != nil {
			return err
		}
	}
	if err := a.usableChannel(ctx, s, ch); err != nil {
		return err
	}
	if err := s.deliverLines(ctx, m, ch, a.brief(ctx, m), s.channelGuard(ch)); err != nil {
		return err
	}
	if perIncident {
		s.tendIncidents(ctx)
	}
	return nil
}

// usableChannel waits until the channel's privacy and members are known
// and returns nil when it passes the privacy rule. A channel that is
// public, refused to let us in, or has an outsider in it gets nothing
// (SPEC §3): the alarm is raised and the message is held (bot.Hold) until
// the channel is fixed, without holding up the messages queued behind it.
// Not being in yet is an ordinary error: retry later.
func (a *Adapter) usableChannel(ctx context.Context, s *session, ch string) error {
	p, modes, err := s.waitPrivacy(ctx, ch)
	switch {
	case errors.Is(err, errNotReady) && s.joinRefusal(ch) != "":
		a.raiseAlarm(ctx, alarmCannotJoin, ch, s.joinRefusal(ch))
		return bot.Hold(s.verdict(ch))
	case err != nil:
		return err
	case p == privPublic:
		a.raiseAlarm(ctx, alarmNotPrivate, ch, modes)
		return bot.Hold(s.verdict(ch))
	}
	if v := s.verdict(ch); !v.OK {
		return a.holdFor(ctx, v)
	}
	return nil
}

// errNotReady is waitPrivacy giving up: not in the channel, or its modes
// not read, in time.
var errNotReady = errors.New("not in the channel yet, or its modes not read yet")

// joinRefusal is why channel last refused us, "" if it did not.
func (s *session) joinRefusal(channel string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusalLocked(channel)
}

func (s *session) refusalLocked(channel string) string {
	if s.sameTarget(channel, s.a.opts.TriageChannel) {
		return s.joinErr
	}
	return s.refused[s.tr.is.fold(channel)]
}

func (a *Adapter) deliverToPerson(ctx context.Context, s *session, m bot.OutboxMessage) error {
	var p *bot.Person
	if a.deps.Service != nil {
		p = a.deps.Service.Settings().People.ByName(m.Dest.Person)
	}
	if p == nil {
		return bot.Permanent(fmt.Errorf("%q is not a declared person", m.Dest.Person))
	}
	if p.IRCAccount == "" {
		return bot.Permanent(fmt.Errorf("%s has no irc_account", p.Name))
	}
	ch := a.opts.TriageChannel
	text := a.compose(ctx, m)
	if p.Notify == bot.NotifyChannel && m.Kind != bot.MessageAlert {
		if _, _, err := s.waitPrivacy(ctx, ch); err == nil && s.verdict(ch).OK {
			return s.deliverLines(ctx, m, ch, highlight(p, text), s.channelGuard(ch))
		}
		// No channel fit to highlight in: a private message will do.
	}
	nick, err := s.resolveNick(ctx, p.IRCAccount)
	if err != nil {
		return err
	}
	if nick != "" {
		return s.deliverLines(ctx, m, nick, text, s.nickGuard(nick, p.IRCAccount))
	}
	// Not online under a nick we can find: they will see a highlight in
	// the private channel when they are back (bouncers, logs).
	if err := a.usableChannel(ctx, s, ch); err != nil {
		var held *bot.HeldError
		if errors.As(err, &held) {
			// Held until they log in or the channel is fixed: either is
			// a change that releases it.
			v := held.Verdict
			v.Reason = p.Name + " is not online on IRC, and " + v.Reason
			return bot.Hold(v)
		}
		return err
	}
	return s.deliverLines(ctx, m, ch, highlight(p, text), s.channelGuard(ch))
}

// highlight makes sure a message names its person, so their client alerts.
func highlight(p *bot.Person, t bot.Text) bot.Text {
	for _, sp := range t.Spans {
		if sp.Kind == bot.SpanMention && strings.EqualFold(sp.Text, p.Name) {
			return t
		}
	}
	var out bot.Text
	out.Mention(p.Name).Plain(": ")
	out.Append(t)
	return out
}

// compose is the message to post: for a new incident, the announcement
// and the report body (which the caller cuts to MaxBodyLines).
func (a *Adapter) compose(ctx context.Context, m bot.OutboxMessage) bot.Text {
	t := bot.Text{Spans: append([]bot.Span(nil), m.Text.Spans...)}
	if m.Kind != bot.MessageNewIncident || !m.Confidential || m.IncidentID == 0 || a.deps.Reports == nil {
		return t
	}
	body, err := a.deps.Reports.ReportBody(ctx, m.IncidentID)
	switch {
	case err == nil && !body.IsEmpty():
		t.Line().Plain("Report:").Line()
		t.Append(body)
	case err != nil && bot.KindOf(err) == bot.KindInternal:
		a.log.Error("could not read the report for the IRC post", "incident", m.IncidentID, "err", err)
		t.Line().Plain("(The report could not be read; see the bot's log.)")
	}
	return t
}

// pointer is where the full report of an incident is, for cut bodies.
func (a *Adapter) pointer(id int64) string {
	ref := "<id>"
	if id != 0 {
		ref = strconv.FormatInt(id, 10)
	}
	return strings.ReplaceAll(a.opts.FullReport, "{id}", ref)
}

// post renders text for target, cuts it into lines that fit 512 bytes with
// our prefix, and sends them: command replies, which are not retried.
// Outbox deliveries go through deliverLines.
func (s *session) post(ctx context.Context, high bool, command, target string, text bot.Text, id int64, guard func() error) error {
	s.mu.Lock()
	lines := renderText(text, s.mentionLocked(target))
	budget := textBudget(s.tr.prefixLen(), command, target)
	s.mu.Unlock()
	phys, err := layout(lines, budget, s.a.opts.MaxBodyLines, s.a.pointer(id))
	if err != nil {
		return bot.Permanent(fmt.Errorf("cannot post to %s: %w", target, err))
	}
	for _, p := range phys {
		if err := s.send(ctx, high, command+" "+target+" :"+p.text, guard); err != nil {
			return err
		}
	}
	return nil
}

var pingSeq atomic.Uint64

func (s *session) drop(w *waiter) {
	if w == nil {
		return
	}
	s.mu.Lock()
	delete(s.waiters, w)
	s.mu.Unlock()
}

// mentionLocked turns a person's name into the nick logged in to their
// account (preferring one in target), else their account name. s.mu must
// be held while the returned function runs.
func (s *session) mentionLocked(target string) func(string) string {
	return func(name string) string {
		if s.a.deps.Service == nil {
			return name
		}
		p := s.a.deps.Service.Settings().People.ByName(name)
		if p == nil || p.IRCAccount == "" {
			return name
		}
		if nick := s.tr.nickFor(p.IRCAccount, target); nick != "" {
			return safeNick(nick)
		}
		return safeNick(p.IRCAccount)
	}
}

// waitPrivacy waits, a bounded time, until the channel's privacy is known
// and, for a private channel, until its members have been read.
// When the channel has refused us it waits only long enough for ChanServ's
// invitation to get us in.
func (s *session) waitPrivacy(ctx context.Context, channel string) (privacy, string, error) {
	start := s.a.now()
	deadline := time.NewTimer(s.a.opts.ModeGrace + 10*time.Second)
	defer deadline.Stop()
	for {
		_, changed := s.a.current()
		p, modes := s.channelPrivacy(channel)
		if p == privPublic || p == privPrivate && s.membersKnown(channel) {
			return p, modes, nil
		}
		if s.joinRefusal(channel) != "" && s.a.now().Sub(start) >= refusalWait {
			return p, modes, fmt.Errorf("%s: %w", channel, errNotReady)
		}
		// The grace period ends without an event: look again then.
		recheck := time.NewTimer(min(s.a.opts.ModeGrace/4, refusalWait))
		select {
		case <-changed:
		case <-recheck.C:
		case <-deadline.C:
			recheck.Stop()
			return privUnknown, modes, fmt.Errorf("%s: %w", channel, errNotReady)
		case <-ctx.Done():
			recheck.Stop()
			return privUnknown, modes, ctx.Err()
		case <-s.done:
			recheck.Stop()
			return privUnknown, modes, errNotConnected
		}
		recheck.Stop()
	}
}

// refusalWait is how long a delivery waits on a channel that refused us.
const refusalWait = 2 * time.Second

// channelGuard stops a message, line by line, when its channel stops
// passing the privacy rule (modes changed, an outsider joined, we left)
// while it is being sent: the rest is held.
func (s *session) channelGuard(channel string) func() error {
	return func() error {
		if v := s.verdict(channel); !v.OK {
			return bot.Hold(v)
		}
		return nil
	}
}

// nickGuard stops a private message when the nick is seen to change hands.
func (s *session) nickGuard(nick, account string) func() error {
	s.mu.Lock()
	tracked := s.tr.lookup(nick) != nil
	s.mu.Unlock()
	return func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		u := s.tr.lookup(nick)
		if tracked && (u == nil || !u.known || !strings.EqualFold(u.account, account)) {
			return fmt.Errorf("the nick %s is no longer logged in to %s", safeNick(nick), safeNick(account))
		}
		return nil
	}
}

// privateGuard checks, before a confidential reply, that its destination
// is private: the channel now, or the nick still logged in to the person's
// account (asked of the server with WHOX when we share no channel).
func (s *session) privateGuard(ctx context.Context, channel, nick string, person *bot.Person) (func() error, error) {
	if channel != "" {
		g := s.channelGuard(channel)
		return g, g()
	}
	if person == nil || person.IRCAccount == "" {
		return nil, errors.New("an outsider cannot be sent report content")
	}
	s.mu.Lock()
	acct, known := s.tr.account(nick)
	whox := s.tr.is.whox
	s.mu.Unlock()
	if !known && whox {
		var err error
		if acct, known, err = s.whoisAccount(ctx, nick); err != nil {
			return nil, err
		}
	}
	if known && !strings.EqualFold(acct, person.IRCAccount) {
		return nil, fmt.Errorf("the nick %s is no longer logged in to %s", safeNick(nick), safeNick(person.IRCAccount))
	}
	// Without WHOX, the account tag on the command, a moment ago, vouches.
	return s.nickGuard(nick, person.IRCAccount), nil
}

// resolveNick finds the nick logged in to account: someone we share a
// channel with, else (WHOX) a user whose nick is the account name.
func (s *session) resolveNick(ctx context.Context, account string) (string, error) {
	s.mu.Lock()
	nick := s.tr.nickFor(account, "")
	whox := s.tr.is.whox
	s.mu.Unlock()
	if nick != "" || !whox {
		return nick, nil
	}
	acct, known, err := s.whoisAccount(ctx, account)
	if err != nil || !known || !strings.EqualFold(acct, account) {
		return "", err
	}
	return account, nil
}

// lookupToken marks our one-nick WHOX queries, apart from channel ones.
const lookupToken = "153"

// whoisAccount asks the server which account nick is logged in to. known
// is false when there is no such nick.
func (s *session) whoisAccount(ctx context.Context, nick string) (account string, known bool, err error) {
	w := s.expect(func(e *girc.Event) (bool, error) {
		p := e.Params
		switch {
		case e.Command == girc.RPL_WHOSPCRPL && len(p) >= 4 && p[1] == lookupToken && s.sameTarget(p[2], nick):
			account, known = p[3], true
			if account == "0" {
				account = ""
			}
		case e.Command == girc.RPL_ENDOFWHO && len(p) >= 2 && s.sameTarget(p[1], nick):
			return true, nil
		}
		return false, nil
	})
	if err := s.send(ctx, prioHigh, "WHO "+nick+" %tna,"+lookupToken, nil); err != nil {
		s.drop(w)
		return "", false, err
	}
	if err := s.wait(ctx, w, 30*time.Second); err != nil {
		return "", false, err
	}
	s.mu.Lock() // the waiter wrote under this lock
	defer s.mu.Unlock()
	return account, known, nil
}
