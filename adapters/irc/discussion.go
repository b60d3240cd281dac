package irc

import (
	"context"
	"strings"

	"github.com/lrstanley/girc"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// What is said in an incident's own channel is kept in the incident's
// timeline (bot.EventDiscussion), and a command typed there acts on the
// incident without naming it ("!ack", "!severity high").

// Discusser records discussion; *bot.Service is one.
type Discusser interface {
	Discuss(ctx context.Context, a bot.Actor, id int64, said bot.Said) error
}

// forIncident completes a command typed in an incident's channel;
// *commands.Registry is one.
type forIncident interface {
	ForIncident(line string, id int64) string
}

// saidLine is a message from an incident channel waiting to be recorded.
type saidLine struct {
	incident int64
	nick     string
	account  string
	text     string
	// relay: the channel passed the privacy rule when it was said.
	relay bool
}

// onIncidentMessage takes a PRIVMSG to one of the incident channels: a
// command goes to the command loop with the incident attached, anything
// else to the record. It reports whether the message was one; it runs in
// girc's event loop, so it only queues.
func (s *session) onIncidentMessage(e *girc.Event) bool {
	target, text := e.Params[0], e.Last()
	ic, ok := s.incidentByName(target)
	if !ok {
		return false
	}
	s.mu.Lock()
	if s.tr.isMe(e.Source.Name) {
		s.mu.Unlock()
		return true
	}
	var account string
	if s.accountTag {
		account, _ = e.Tags.Get("account")
	} else {
		account, _ = s.tr.account(e.Source.Name)
	}
	s.mu.Unlock()
	if action, isAction := strings.CutPrefix(text, "\x01ACTION "); isAction {
		text = "/me " + strings.TrimSuffix(action, "\x01")
	} else if strings.HasPrefix(text, "\x01") {
		return true // other CTCP: nothing said
	}
	if line, isCmd := commands.Normalize(text, s.a.opts.Prefix); isCmd && s.a.deps.Commands != nil && !strings.HasPrefix(text, "/me ") {
		if line == "" {
			return true
		}
		select {
		case s.commands <- commandRequest{nick: e.Source.Name, account: account, channel: target, line: line, incident: ic.id}:
		default:
			s.a.log.Warn("too many IRC commands waiting; dropping one", "nick", safeNick(e.Source.Name))
		}
		return true
	}
	// An outsider in the channel stops the relay (checkPrivacy has
	// alerted the officers when they came in).
	relay := s.verdict(target).OK
	select {
	case s.said <- saidLine{incident: ic.id, nick: e.Source.Name, account: account, text: text, relay: relay}:
	default:
		// Never silently: the record misses a line, and says so in the log.
		s.a.log.Error("too many incident-channel messages waiting to be recorded; one is lost from the record", "incident", ic.id)
	}
	return true
}

// recordLoop writes incident-channel messages to the timeline, in order.
func (s *session) recordLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case l := <-s.said:
			s.safely("record", func() { s.record(ctx, l) })
		}
	}
}

// record keeps one message, said by a declared person: anyone else in the
// channel makes it fail the privacy rule, and the officers hear of that.
func (s *session) record(ctx context.Context, l saidLine) {
	if s.a.deps.Record == nil || s.a.deps.Service == nil || l.account == "" {
		return
	}
	p := s.a.deps.Service.Settings().People.ByIRCAccount(l.account)
	if p == nil {
		return
	}
	said := bot.Said{Text: l.text, Relay: l.relay}
	if err := s.a.deps.Record.Discuss(ctx, bot.Actor{Person: p, Platform: bot.PlatformIRC}, l.incident, said); err != nil && ctx.Err() == nil {
		s.a.log.Error("could not record a message of an incident channel", "incident", l.incident, "err_kind", bot.KindOf(err))
	}
}
