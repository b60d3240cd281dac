package irc

import (
	"context"
	"strings"
	"time"

	"github.com/lrstanley/girc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// commandRequest is a command line taken from the channel or a PM, with
// the account the server vouched for when it arrived.
type commandRequest struct {
	nick    string
	account string // "" when not logged in
	channel string // "" for a private message
	line    string
	// incident is the incident whose own channel the line was typed in:
	// a command there acts on it without naming it.
	incident int64
}

// outsiderQuiet is how long an outsider waits for the next refusal: each
// reply costs the bot a line, and strangers must not be able to spend them.
const outsiderQuiet = time.Minute

// onPrivmsg takes commands: "!cmd" in the triage channel, "cmd" or "!cmd"
// in a private message. It runs in girc's event loop, so it only queues.
func (s *session) onPrivmsg(e *girc.Event) {
	if e.Command != girc.PRIVMSG || e.Echo || e.Source == nil || e.Source.Ident == "" || len(e.Params) < 2 {
		return
	}
	if s.onIncidentMessage(e) || s.a.deps.Commands == nil {
		return
	}
	text := e.Last()
	if strings.HasPrefix(text, "\x01") { // CTCP, ACTION included
		return
	}
	s.mu.Lock()
	if s.tr.isMe(e.Source.Name) {
		s.mu.Unlock()
		return
	}
	req := commandRequest{nick: e.Source.Name}
	target := e.Params[0]
	var ok bool
	switch {
	case s.tr.isMe(target):
		req.line, ok = commands.Normalize(text, s.a.opts.Prefix, "")
	case s.sameTarget(target, s.a.opts.TriageChannel):
		req.channel = target
		req.line, ok = commands.Normalize(text, s.a.opts.Prefix)
	}
	// The account decides who this is: with account-tag, the tag on this
	// very message (absent: not logged in); without it, what the server
	// told us with extended-join, ACCOUNT and WHOX. Never the nick.
	if s.accountTag {
		req.account, _ = e.Tags.Get("account")
	} else {
		req.account, _ = s.tr.account(e.Source.Name)
	}
	s.mu.Unlock()
	if !ok || req.line == "" {
		return
	}
	select {
	case s.commands <- req:
	default:
		s.a.log.Warn("too many IRC commands waiting; dropping one", "nick", safeNick(req.nick))
	}
}

// commandLoop runs commands one at a time, so replies keep their order.
func (s *session) commandLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-s.commands:
			s.safely("command", func() { s.runCommand(ctx, req) })
		}
	}
}

func (s *session) runCommand(ctx context.Context, req commandRequest) {
	person := s.a.deps.Service.Settings().People.ByIRCAccount(req.account)
	if person == nil && !s.a.mayRefuse(req.nick) {
		return
	}
	// Report content may be shown only where only the team can read it: a
	// channel that passes the privacy rule now, or a PM to an identified
	// member. In a channel that fails the rule, the answer (an echo of a
	// CVE id or an embargo date is about an incident too) goes to the
	// sender's nick instead.
	private := person != nil
	if req.channel != "" {
		if v := s.verdict(req.channel); !v.OK {
			s.a.log.Warn("answering a channel command privately: the channel fails the privacy rule", "reason", v.Reason)
			req.channel = ""
		} else {
			private = true
		}
	}
	actor := bot.Actor{Person: person, Platform: bot.PlatformIRC}
	if fi, ok := s.a.deps.Commands.(forIncident); ok && req.incident != 0 {
		req.line = fi.ForIncident(req.line, req.incident)
	}
	reply := s.a.deps.Commands.Run(ctx, actor, req.line, private)
	if err := s.reply(ctx, req, person, reply); err != nil && ctx.Err() == nil {
		s.a.log.Warn("could not send a command reply", "nick", safeNick(req.nick), "err", err)
	}
	// A close or a claim typed here sends no notice back here.
	s.tendIncidents(ctx)
}

// mayRefuse rate-limits refusals per nick.
func (a *Adapter) mayRefuse(nick string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for n, at := range a.replied {
		if now.Sub(at) > outsiderQuiet {
			delete(a.replied, n)
		}
	}
	k := strings.ToLower(nick)
	if _, recent := a.replied[k]; recent {
		return false
	}
	a.replied[k] = now
	return true
}

// reply sends a command's answer as NOTICEs where the command came from: to
// the channel, addressed to the sender, or back to the sender's nick.
// Confidential answers go only into a channel still private, or to a nick
// still logged in to the person's account.
func (s *session) reply(ctx context.Context, req commandRequest, person *bot.Person, r commands.Reply) error {
	target := req.channel
	if target == "" {
		target = req.nick
	}
	var guard func() error
	if r.Confidential {
		var err error
		guard, err = s.privateGuard(ctx, req.channel, req.nick, person)
		if err != nil {
			s.a.log.Warn("withheld a confidential reply", "err", err)
			return s.post(ctx, prioHigh, "NOTICE", target, bot.PlainText("That answer shows report content, which cannot be sent here right now."), 0, nil)
		}
	}
	text := r.Text
	if req.channel != "" {
		var t bot.Text
		t.Plain(safeNick(req.nick) + ": ")
		t.Append(text)
		text = t
	}
	return s.post(ctx, prioHigh, "NOTICE", target, text, 0, guard)
}
