package irc

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// errNoLogin ends a connection that registered without the SASL login the
// configuration asks for.
var errNoLogin = errors.New("the server completed registration without a SASL login")

// Alarm kinds: what is wrong with the triage channel.
const (
	alarmNotPrivate = "irc-not-private"
	alarmCannotJoin = "irc-cannot-join"
)

// raiseAlarm tells the officers, once per episode, that the triage channel
// cannot take report content: it is not private, or it refuses the bot.
// The outbox carries the alarm to every platform, IRC included (a private
// message to each officer logged in there). The dedupe key includes the
// hour, so the same channel breaking again later alarms again.
func (a *Adapter) raiseAlarm(ctx context.Context, kind, channel, detail string) {
	if a.opts.readOnly {
		return
	}
	k := strings.ToLower(channel)
	a.mu.Lock()
	if a.alarmed[kind+k] {
		a.mu.Unlock()
		return
	}
	a.alarmed[kind+k] = true
	a.mu.Unlock()
	var msg string
	switch kind {
	case alarmNotPrivate:
		a.log.Error("IRC channel is not private: report content for it is withheld", "channel", channel, "modes", detail)
		msg = "sectriage alarm: the IRC channel " + neutralize(channel) + " is not private (modes " + neutralize(detail) +
			"; it needs +s and +i or +k). Nothing is posted there until it is fixed: set the modes, or make the bot operator with manage_modes = true."
	default:
		a.log.Error("cannot join the IRC triage channel: posts for it are withheld", "channel", channel, "reason", detail)
		msg = "sectriage alarm: the bot cannot join the IRC channel " + neutralize(channel) + " (" + neutralize(detail) +
			"). Nothing is posted there until it can: check the key, bans and invitations."
	}
	if a.deps.Service == nil {
		return
	}
	key := kind + "|" + k + "|" + a.now().UTC().Format("2006-01-02T15")
	// Queued in its own short context: the caller may be a delivery whose
	// context is about to end.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.deps.Service.AlertOfficers(actx, key, bot.PlainText(msg)); err != nil {
		a.log.Error("could not queue the alarm for the officers", "err", err)
	}
}

// clearAlarms ends an episode: the channel is joined and private again.
func (a *Adapter) clearAlarms(channel string) {
	k := strings.ToLower(channel)
	a.mu.Lock()
	was := a.alarmed[alarmNotPrivate+k] || a.alarmed[alarmCannotJoin+k]
	delete(a.alarmed, alarmNotPrivate+k)
	delete(a.alarmed, alarmCannotJoin+k)
	a.mu.Unlock()
	if was {
		a.log.Info("IRC channel is usable again", "channel", channel)
	}
}

// fail ends the connection for a reason of ours, which Run then reports.
func (s *session) fail(err error) {
	s.mu.Lock()
	if s.closeErr == nil {
		s.closeErr = err
	}
	s.mu.Unlock()
	s.client.Close()
}
