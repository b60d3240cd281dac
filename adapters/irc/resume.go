package irc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lrstanley/girc"
	"github.com/sectriage/sectriage/bot"
)

// deliverLines sends an outbox message to target as PRIVMSG lines,
// starting after the m.Sent lines that earlier attempts got to the server,
// and records each line once the server has confirmed it (its echo, or
// without echo-message the PONG to a PING sent after it). Only one line
// is ever unconfirmed, so when the connection dies mid-post the retry
// starts at that line: every other line goes out exactly once, and that
// one at least once (the server may have relayed it and died before its
// echo reached us). Without echo-message each line costs a PING too.
//
// The lines are laid out again on every attempt; the count stays right as
// long as the text and our nick's length have not changed in between.
func (s *session) deliverLines(ctx context.Context, m bot.OutboxMessage, target string, text bot.Text, guard func() error) error {
	s.mu.Lock()
	lines := renderText(text, s.mentionLocked(target))
	budget := textBudget(s.tr.prefixLen(), "PRIVMSG", target)
	echo := s.echo
	s.mu.Unlock()
	phys, err := layout(lines, budget, s.a.opts.MaxBodyLines, s.a.pointer(m.IncidentID))
	if err != nil {
		return bot.Permanent(fmt.Errorf("cannot post to %s: %w", target, err))
	}
	if m.Sent > 0 && m.Sent < len(phys) {
		s.a.log.Info("resuming an interrupted message", "id", m.ID, "from_line", m.Sent+1, "lines", len(phys))
	}
	for i := m.Sent; i < len(phys); i++ {
		if err := s.sendConfirmed(ctx, target, phys[i].text, guard, echo); err != nil {
			return err
		}
		if err := m.RecordSent(ctx, i+1); err != nil {
			return fmt.Errorf("recording line %d of %d as sent: %w", i+1, len(phys), err)
		}
	}
	return nil
}

// sendConfirmed sends one PRIVMSG line and waits until the server has
// handled it.
func (s *session) sendConfirmed(ctx context.Context, target, text string, guard func() error, echo bool) error {
	var w *waiter
	if echo {
		w = s.echoOf(girc.PRIVMSG, target)
	}
	if err := s.send(ctx, prioLow, girc.PRIVMSG+" "+target+" :"+text, guard); err != nil {
		s.drop(w)
		return err
	}
	if w == nil {
		token := "sectriage-" + strconv.FormatUint(pingSeq.Add(1), 10)
		w = s.ponged(target, token)
		if err := s.send(ctx, prioLow, "PING :"+token, nil); err != nil {
			s.drop(w)
			return err
		}
	}
	return s.wait(ctx, w, confirmTimeout)
}

// echoOf waits for the echo of our next command to target, or a refusal.
// Its text is not compared: with one line in flight the echo is that
// line's, and a server may alter the text (a channel stripping colours).
func (s *session) echoOf(command, target string) *waiter {
	return s.expect(func(e *girc.Event) (bool, error) {
		if e.Echo && e.Command == command && len(e.Params) > 1 && s.sameTarget(e.Params[0], target) {
			return true, nil
		}
		if targetErrors[e.Command] && len(e.Params) > 1 && s.sameTarget(e.Params[1], target) {
			return true, errors.New("the server refused the message to " + target + ": " + e.Command + " " + strings.TrimSpace(e.Last()))
		}
		return false, nil
	})
}
