package irc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lrstanley/girc"
	"github.com/sectriage/sectriage/bot"
)

// Per-incident channels (Options.ChannelPerIncident), the IRC twin of the
// Mattermost adapter's: made by the bot on the incident's first message,
// +s +i +k with a key the bot generates (kept sealed in the database),
// registered with ChanServ and mode-locked there, the assignee, the manager
// and the officers invited. Messages for the incident go there under the
// same privacy rule as every destination (bot.MayReceive): an outsider in
// it holds them. When the incident closes the bot drops the registration
// and parts: the discussion is over, and a channel nobody watches must not
// stay around looking official. An archived name is never used again.

// IncidentChannels is the storage the per-incident channels need;
// *storage.DB is one.
type IncidentChannels interface {
	IRCIncidentChannel(ctx context.Context, incidentID int64) (name, key string, archived bool, err error)
	SetIRCIncidentChannel(ctx context.Context, incidentID int64, name, key string, at time.Time) (bool, error)
	ArchiveIRCIncidentChannel(ctx context.Context, incidentID int64, at time.Time) error
	IRCLiveChannels(ctx context.Context) (map[int64]string, error)
	Incident(ctx context.Context, id int64) (*bot.Incident, error)
}

// incidentChan is a live incident channel the bot keeps joined.
type incidentChan struct {
	id        int64
	name, key string
}

// incidentByName returns the live incident channel called name.
func (s *session) incidentByName(name string) (incidentChan, bool) {
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	for _, ic := range s.a.incChans {
		if s.sameTarget(ic.name, name) {
			return ic, true
		}
	}
	return incidentChan{}, false
}

// channelKey is the key to join and lock a channel of ours with.
func (s *session) channelKey(channel string) string {
	if s.sameTarget(channel, s.a.opts.TriageChannel) {
		return s.a.opts.TriageKey
	}
	ic, _ := s.incidentByName(channel)
	return ic.key
}

// ours reports whether channel is one the bot posts to.
func (s *session) ours(channel string) bool {
	if s.sameTarget(channel, s.a.opts.TriageChannel) {
		return true
	}
	_, ok := s.incidentByName(channel)
	return ok
}

// ourChannels lists the triage channel and the live incident channels.
func (s *session) ourChannels() []string {
	out := []string{s.a.opts.TriageChannel}
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	for _, ic := range s.a.incChans {
		out = append(out, ic.name)
	}
	return out
}

// joinIncidents, on connecting, rejoins the live incident channels and
// archives those whose incident closed while the bot was away.
func (s *session) joinIncidents(ctx context.Context) {
	st := s.a.deps.Channels
	if !s.a.opts.ChannelPerIncident || st == nil || s.a.opts.readOnly {
		return
	}
	live, err := st.IRCLiveChannels(ctx)
	if err != nil {
		s.a.log.Error("cannot read the incident channels", "err", err)
		return
	}
	for id := range live {
		name, key, archived, err := st.IRCIncidentChannel(ctx, id)
		if err != nil || archived || name == "" {
			if err != nil {
				s.a.log.Error("cannot read an incident channel", "incident", id, "err", err)
			}
			continue
		}
		ic := incidentChan{id: id, name: name, key: key}
		s.a.mu.Lock()
		s.a.incChans[id] = ic
		s.a.mu.Unlock()
		if inc, err := st.Incident(ctx, id); err == nil && !inc.State.Open() {
			s.archive(ctx, ic)
			continue
		}
		s.joinIncident(ctx, ic)
	}
}

// joinIncident joins an incident channel with its key, unless in it.
func (s *session) joinIncident(ctx context.Context, ic incidentChan) {
	s.mu.Lock()
	in := s.tr.channel(ic.name) != nil
	s.mu.Unlock()
	if in {
		return
	}
	if err := s.send(ctx, prioHigh, "JOIN "+ic.name+" "+ic.key, nil); err != nil && ctx.Err() == nil {
		s.a.log.Warn("could not send JOIN", "channel", ic.name, "err", err)
	}
}

// incidentJoinFailed records why an incident channel refused the bot; the
// alarm follows when a delivery finds it still refused.
func (s *session) incidentJoinFailed(channel, numeric, reason string) {
	s.mu.Lock()
	s.refused[s.tr.is.fold(channel)] = numeric + " " + reason
	s.mu.Unlock()
	s.a.log.Error("cannot join an incident channel", "channel", channel, "numeric", numeric, "reason", reason)
	if numeric == girc.ERR_INVITEONLYCHAN || numeric == girc.ERR_BADCHANNELKEY {
		// The bot is the founder: ChanServ lets it in.
		s.do(func(ctx context.Context) { s.send(ctx, prioHigh, "PRIVMSG ChanServ :INVITE "+channel, nil) })
	}
	s.a.notify()
}

// incidentChannel returns the channel an incident's messages go to: its
// own, made on first use, or the triage channel once it was archived.
func (a *Adapter) incidentChannel(ctx context.Context, s *session, id int64) (string, error) {
	st := a.deps.Channels
	name, key, archived, err := st.IRCIncidentChannel(ctx, id)
	switch {
	case err != nil:
		return "", err
	case archived:
		return a.opts.TriageChannel, nil
	}
	fresh := false
	if name == "" {
		// Chosen and recorded before it is made, so a retry after a
		// crash or a lost connection makes the same channel.
		name, key = a.channelName(id), randomString(keyAlphabet, 20)
		ok, err := st.SetIRCIncidentChannel(ctx, id, name, key, a.now())
		if err != nil {
			return "", err
		}
		if !ok {
			if name, key, _, err = st.IRCIncidentChannel(ctx, id); err != nil || name == "" {
				return "", bot.Permanent(fmt.Errorf("the IRC channel name for incident %d is taken: %v", id, err))
			}
		} else {
			fresh = true
		}
	}
	ic := incidentChan{id: id, name: name, key: key}
	a.mu.Lock()
	a.incChans[id] = ic
	a.mu.Unlock()
	if err := s.openIncident(ctx, ic, fresh); err != nil {
		return "", err
	}
	return name, nil
}

// channelName fills the configured pattern.
func (a *Adapter) channelName(id int64) string {
	r := strings.NewReplacer("{id}", strconv.FormatInt(id, 10), "{random}", randomString("abcdefghijklmnopqrstuvwxyz", 8))
	return r.Replace(a.opts.IncidentChannel)
}

// keyAlphabet has no character a JOIN line or a mode lock would split on.
const keyAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// openIncident gets the bot into an incident's channel. The first time it
// makes it: it must be the one to create it (operator on joining an empty
// channel), then it sets the modes, registers the channel with ChanServ,
// locks the modes there and invites the incident's people.
func (s *session) openIncident(ctx context.Context, ic incidentChan, fresh bool) error {
	s.mu.Lock()
	in := s.tr.channel(ic.name) != nil
	s.mu.Unlock()
	if in {
		return nil
	}
	joined, err := s.joinAndWait(ctx, ic)
	if err != nil {
		return err
	}
	if !joined {
		// Refused (the key changed, banned): delivery holds the message
		// and alarms; ChanServ's invitation may still get us in.
		return nil
	}
	if !fresh {
		return nil
	}
	s.mu.Lock()
	c := s.tr.channel(ic.name)
	op := c != nil && c.op
	s.mu.Unlock()
	if !op {
		// Someone made a channel of that name first: it is not ours to
		// trust, whatever its modes.
		s.send(ctx, prioHigh, "PART "+ic.name+" :not the channel sectriage made", nil)
		v := bot.MayReceive(bot.PlaceFacts{Platform: bot.PlatformIRC, Name: ic.name, Kind: bot.PlaceChannel,
			Closure: "someone else made it before the bot could"})
		s.a.raiseAlarm(ctx, alarmCannotJoin, ic.name, "a channel of that name existed already and the bot is not its operator; pick another incident_channel pattern (with {random})")
		return bot.Hold(v)
	}
	s.mu.Lock()
	s.fixedAt[s.tr.is.fold(ic.name)] = s.a.now()
	s.mu.Unlock()
	for _, line := range []string{
		"MODE " + ic.name + " +sik " + ic.key,
		"TOPIC " + ic.name + " :sectriage: " + bot.FormatID(ic.id) + ". Private to the security team; invite nobody else.",
		"PRIVMSG ChanServ :REGISTER " + ic.name,
		"PRIVMSG ChanServ :MODE " + ic.name + " LOCK ADD +snik " + ic.key,
	} {
		if err := s.send(ctx, prioHigh, line, nil); err != nil {
			return err
		}
	}
	return s.inviteTeam(ctx, ic)
}

// joinAndWait sends JOIN and waits for the end of the member list (joined)
// or the server's refusal (not joined).
func (s *session) joinAndWait(ctx context.Context, ic incidentChan) (bool, error) {
	joined := false
	w := s.expect(func(e *girc.Event) (bool, error) {
		if len(e.Params) < 2 || !s.sameTarget(e.Params[1], ic.name) {
			return false, nil
		}
		switch e.Command {
		case girc.RPL_ENDOFNAMES:
			joined = true
			return true, nil
		case girc.ERR_INVITEONLYCHAN, girc.ERR_BADCHANNELKEY, girc.ERR_BANNEDFROMCHAN, girc.ERR_CHANNELISFULL,
			girc.ERR_NOSUCHCHANNEL, girc.ERR_TOOMANYCHANNELS, "477", "489", "520":
			return true, nil
		}
		return false, nil
	})
	if err := s.send(ctx, prioHigh, "JOIN "+ic.name+" "+ic.key, nil); err != nil {
		s.drop(w)
		return false, err
	}
	if err := s.wait(ctx, w, 30*time.Second); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return joined, nil
}

// inviteTeam invites the incident's people who are online, logged in to
// their accounts, and gives their accounts ChanServ access, so that whoever
// was away can ask ChanServ for an invitation once logged in. It runs when
// the channel is made and after each message to it, and acts only for
// people it has not invited yet on this connection: a new assignee or
// manager (a claim, a reassignment) is invited then.
func (s *session) inviteTeam(ctx context.Context, ic incidentChan) error {
	if s.a.deps.Service == nil {
		return nil
	}
	inc, err := s.a.deps.Channels.Incident(ctx, ic.id)
	if err != nil {
		return err
	}
	st := s.a.deps.Service.Settings()
	for _, name := range bot.IncidentPeople(st, inc) {
		p := st.People.ByName(name)
		if p == nil || p.IRCAccount == "" {
			continue
		}
		key := s.tr.is.fold(ic.name) + " " + strings.ToLower(p.IRCAccount)
		s.mu.Lock()
		done := s.invited[key]
		u := s.tr.lookup(s.tr.nickFor(p.IRCAccount, ic.name))
		in := u != nil && u.chans[s.tr.is.fold(ic.name)] // already there
		s.invited[key] = true
		s.mu.Unlock()
		if done {
			continue
		}
		if err := s.send(ctx, prioHigh, "PRIVMSG ChanServ :ACCESS "+ic.name+" ADD "+p.IRCAccount+" 5", nil); err != nil {
			return err
		}
		if in {
			continue
		}
		nick, err := s.resolveNick(ctx, p.IRCAccount)
		if err != nil {
			return err
		}
		if nick == "" {
			continue
		}
		if err := s.send(ctx, prioHigh, "INVITE "+nick+" "+ic.name, nil); err != nil {
			return err
		}
	}
	return nil
}

// tendIncidents gives up the channels of incidents that closed and
// invites the people an incident gained (a claim, a reassignment). It
// runs after each incident message is delivered (the closing notice is
// the channel's last message) and after each command taken here (a
// change typed on IRC sends no notice to IRC).
func (s *session) tendIncidents(ctx context.Context) {
	if s.a.deps.Channels == nil || s.a.opts.readOnly {
		return
	}
	s.a.mu.Lock()
	live := make([]incidentChan, 0, len(s.a.incChans))
	for _, ic := range s.a.incChans {
		live = append(live, ic)
	}
	s.a.mu.Unlock()
	for _, ic := range live {
		inc, err := s.a.deps.Channels.Incident(ctx, ic.id)
		switch {
		case err != nil:
		case !inc.State.Open():
			s.archive(ctx, ic)
		default:
			s.mu.Lock()
			in := s.tr.channel(ic.name) != nil
			s.mu.Unlock()
			if !in {
				continue
			}
			if err := s.inviteTeam(ctx, ic); err != nil && ctx.Err() == nil {
				s.a.log.Warn("could not invite an incident's people", "channel", ic.name, "err", err)
			}
		}
	}
}

// archive drops the channel's registration and parts it, then records it
// archived. The record, not the channel, keeps the discussion.
func (s *session) archive(ctx context.Context, ic incidentChan) {
	for _, line := range []string{
		"PRIVMSG ChanServ :DROP " + ic.name + " " + ic.name, // Anope 2.0 asks for the name twice
		"PART " + ic.name + " :" + bot.FormatID(ic.id) + " is closed",
	} {
		if err := s.send(ctx, prioHigh, line, nil); err != nil {
			return
		}
	}
	if err := s.a.deps.Channels.ArchiveIRCIncidentChannel(ctx, ic.id, s.a.now()); err != nil {
		s.a.log.Error("cannot record an incident channel as archived", "channel", ic.name, "err", err)
		return
	}
	s.a.mu.Lock()
	delete(s.a.incChans, ic.id)
	s.a.mu.Unlock()
	s.a.log.Info("archived an incident channel", "channel", ic.name, "incident", ic.id)
}

var errNoChannels = errors.New("channel_per_incident needs Deps.Channels")
