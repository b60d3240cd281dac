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

func (a *Adapter) setLastErr(err error) {
	a.mu.Lock()
	a.lastErr = err
	a.mu.Unlock()
}

// raiseAlarm tells the officers, once per episode, that a channel meant to
// be private is not, and that report content for it is withheld. The
// outbox carries it to every platform, IRC included (a private message to
// each officer logged in there). The dedupe key includes the hour so that
// the same channel breaking again later alarms again.
func (a *Adapter) raiseAlarm(ctx context.Context, channel, modes string) {
	if a.opts.readOnly {
		return
	}
	k := strings.ToLower(channel)
	a.mu.Lock()
	if a.alarmed[k] {
		a.mu.Unlock()
		return
	}
	a.alarmed[k] = true
	a.mu.Unlock()
	a.log.Error("IRC channel is not private: report content for it is withheld", "channel", channel, "modes", modes)
	if a.deps.Service == nil {
		return
	}
	var t bot.Text
	t.Plain("sectriage alarm: the IRC channel " + safeChannel(channel) + " is not private (modes " + modes +
		"; it needs +s and +i or +k). Nothing is posted there until it is fixed; set the modes, or give the bot operator status with manage_modes = true.")
	key := "irc-not-private|" + k + "|" + a.now().UTC().Format("2006-01-02T15")
	// Queued in its own short context: the caller may be a delivery whose
	// context is about to end.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.deps.Service.AlertOfficers(actx, key, t); err != nil {
		a.log.Error("could not queue the alarm for the officers", "err", err)
	}
}

// clearAlarm ends an episode: the channel is private again.
func (a *Adapter) clearAlarm(channel string) {
	k := strings.ToLower(channel)
	a.mu.Lock()
	was := a.alarmed[k]
	delete(a.alarmed, k)
	a.mu.Unlock()
	if was {
		a.log.Info("IRC channel is private again", "channel", channel)
	}
}

// safeChannel keeps a channel name printable for messages.
func safeChannel(s string) string {
	return neutralize(s)
}
