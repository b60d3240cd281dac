package irc

import (
	"context"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// The IRC side of the privacy rule (bot.MayReceive): the channel's modes
// and who is in it, by services account, as the tracker saw them. A nick
// not logged in, or whose account the server never told us, is an
// outsider: a nick proves nothing.

// placeFactsLocked describes a channel for the rule. s.mu must be held.
func (s *session) placeFactsLocked(channel string, p privacy, modes string) bot.PlaceFacts {
	f := bot.PlaceFacts{Platform: bot.PlatformIRC, Name: channel, Kind: bot.PlaceChannel,
		Private: p == privPrivate, Closure: "modes " + modes + "; it needs +s and +i or +k"}
	if modes == "" {
		f.Closure = "its modes are not known"
	}
	if refusal := s.refusalLocked(channel); refusal != "" && s.tr.channel(channel) == nil {
		f.Closure = "the bot cannot join it: " + refusal
	}
	c := s.tr.channel(channel)
	if c == nil {
		return f
	}
	f.MembersKnown = c.membersKnown
	f.Members = append(f.Members, bot.PlaceMember{Name: s.tr.me, Status: bot.MemberBot})
	var people *bot.People
	if s.a.deps.Service != nil {
		people = s.a.deps.Service.Settings().People
	}
	k := s.tr.is.fold(channel)
	for _, u := range s.tr.users {
		if !u.chans[k] {
			continue
		}
		m := bot.PlaceMember{Name: safeNick(u.nick), Status: bot.MemberOutsider}
		switch {
		case !u.known:
			m.Status = bot.MemberUnknown
		case u.account != "" && strings.EqualFold(u.account, s.tr.myAccount):
			m.Status = bot.MemberBot
		case u.account != "" && people != nil && people.ByIRCAccount(u.account) != nil:
			m.Status = bot.MemberPerson
		case u.account != "" && s.a.trustedAccount(u.account):
			m.Status = bot.MemberTrusted
		}
		f.Members = append(f.Members, m)
	}
	return f
}

// trustedAccount reports whether account is one of [irc] trusted_members.
func (a *Adapter) trustedAccount(account string) bool {
	for _, t := range a.opts.TrustedAccounts {
		if strings.EqualFold(t, account) {
			return true
		}
	}
	return false
}

// verdict asks the rule about a channel now.
func (s *session) verdict(channel string) bot.Verdict {
	p, modes := s.channelPrivacy(channel)
	s.mu.Lock()
	defer s.mu.Unlock()
	return bot.MayReceive(s.placeFactsLocked(channel, p, modes))
}

// membersKnown reports whether the channel's member list and accounts
// have been read since we joined it.
func (s *session) membersKnown(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.tr.channel(channel)
	return c != nil && c.membersKnown
}

// holdFor turns a failed verdict into the held error, telling the
// officers once per problem.
func (a *Adapter) holdFor(ctx context.Context, v bot.Verdict) error {
	a.alertPrivacy(ctx, v)
	return bot.Hold(v)
}

// alertPrivacy tells the officers that a channel fails the rule for a
// reason other than its modes (which raiseAlarm words for IRC operators).
func (a *Adapter) alertPrivacy(ctx context.Context, v bot.Verdict) {
	if a.opts.readOnly || a.deps.Service == nil || v.OK || len(v.Outsiders) == 0 {
		return
	}
	key, text := bot.PrivacyAlert(v, a.now())
	a.mu.Lock()
	seen := a.alarmed[key]
	a.alarmed[key] = true
	a.mu.Unlock()
	if seen {
		return
	}
	a.log.Error("IRC channel has outsiders: messages for it are held", "reason", v.Reason)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.deps.Service.AlertOfficers(actx, key, text); err != nil {
		a.log.Error("could not queue the alarm for the officers", "err", err)
	}
}

// releaser is the part of the outbox that retries held messages; the
// daemon's *bot.Outbox is one.
type releaser interface {
	Release(ctx context.Context, platform string) error
}

// releaseHeld asks the outbox to try the held messages again: the
// channel's modes or members changed. Bursts of JOINs cost one release.
func (s *session) releaseHeld() {
	r, ok := s.a.deps.Outbox.(releaser)
	if !ok || s.a.opts.readOnly {
		return
	}
	s.mu.Lock()
	pending := s.releasing
	s.releasing = true
	s.mu.Unlock()
	if pending {
		return
	}
	s.after(releaseDelay, func(ctx context.Context) {
		s.mu.Lock()
		s.releasing = false
		s.mu.Unlock()
		if err := r.Release(ctx, bot.PlatformIRC); err != nil && ctx.Err() == nil {
			s.a.log.Warn("could not release held messages", "err", err)
		}
	})
}

// releaseDelay gathers a burst of membership events into one release.
const releaseDelay = 500 * time.Millisecond
