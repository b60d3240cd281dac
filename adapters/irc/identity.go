package irc

import (
	"strings"
	"time"

	"github.com/lrstanley/girc"
)

// tracker follows, from the server's own lines, who is where and logged in
// as which account, and the modes of the channels we are in. girc keeps
// similar state, but it never clears an account on an extended-join "*" or
// a WHOX "0", never removes -k/-m and races on MODE; security decisions
// here depend on this tracker and on the account tag of each message.
//
// It is not safe for concurrent use; the session guards it.
type tracker struct {
	is   isupport
	me   string // our nick
	mask string // our nick!user@host as others see it; "" until known
	// myAccount is the services account we logged in to (900): another
	// connection of the bot (the daemon, seen by a check) counts as the
	// bot, not as an outsider.
	myAccount string
	users     map[string]*trackedUser
	chans     map[string]*trackedChan
	// whoxToken marks the WHOX replies to our own queries.
	whoxToken string
}

type trackedUser struct {
	nick string
	// account is the services account; "" means not logged in. It counts
	// only when known is set: an extended-join, ACCOUNT, WHOX reply or
	// account tag said so.
	account string
	known   bool
	chans   map[string]bool // folded names of our channels they are in
}

type trackedChan struct {
	name       string
	joinedAt   time.Time
	modes      chanModes
	modesKnown bool // a 324 arrived since we joined
	// membersKnown: the member list (and, with WHOX, every member's
	// account) has been read since we joined. Until then the privacy
	// rule refuses the channel.
	membersKnown bool
	op           bool // we have operator status
}

func newTracker(me string) *tracker {
	return &tracker{is: defaultISupport(), me: me, users: map[string]*trackedUser{}, chans: map[string]*trackedChan{},
		whoxToken: "152"}
}

func (t *tracker) isMe(nick string) bool { return t.is.fold(nick) == t.is.fold(t.me) }

// user returns the tracked user for nick, creating it.
func (t *tracker) user(nick string) *trackedUser {
	k := t.is.fold(nick)
	u := t.users[k]
	if u == nil {
		u = &trackedUser{nick: nick, chans: map[string]bool{}}
		t.users[k] = u
	}
	return u
}

// lookup returns the tracked user for nick or nil.
func (t *tracker) lookup(nick string) *trackedUser { return t.users[t.is.fold(nick)] }

// channel returns a channel we are in, or nil.
func (t *tracker) channel(name string) *trackedChan { return t.chans[t.is.fold(name)] }

// account returns what we know of nick's account.
func (t *tracker) account(nick string) (account string, known bool) {
	if u := t.lookup(nick); u != nil && u.known {
		return u.account, true
	}
	return "", false
}

// setAccount records an account; "*" and "0" are how servers say "none".
func (t *tracker) setAccount(nick, account string) {
	if account == "*" || account == "0" {
		account = ""
	}
	u := t.user(nick)
	u.account, u.known = account, true
}

// nickFor returns the nick currently logged in to account, preferring
// someone in channel (folded names; "" for any channel).
func (t *tracker) nickFor(account, channel string) string {
	if account == "" {
		return ""
	}
	best := ""
	for _, u := range t.users {
		if !u.known || !strings.EqualFold(u.account, account) {
			continue
		}
		if channel == "" || u.chans[t.is.fold(channel)] {
			return u.nick
		}
		best = u.nick
	}
	return best
}

// leave removes nick from a channel and forgets them when they share no
// channel with us any more: we would not hear of their logout.
func (t *tracker) leave(nick, channel string) {
	u := t.lookup(nick)
	if u == nil {
		return
	}
	delete(u.chans, t.is.fold(channel))
	if len(u.chans) == 0 {
		delete(t.users, t.is.fold(nick))
	}
}

// effect tells the session what an event changed that it must act on.
type effect struct {
	joined, left string // a channel we joined or lost
	modes        string // a channel whose modes or our op status changed
	nickChanged  bool   // our own nick
	// members: who is in a channel, or logged in as whom, changed (a
	// channel name, or "*" for every channel the user shares with us).
	members string
}

// handle applies one event from the server.
func (t *tracker) handle(e *girc.Event, accountTag bool, now time.Time) effect {
	var eff effect
	nick := ""
	if e.Source != nil {
		nick = e.Source.Name
	}
	// Any message that may carry the account tag says who its sender is.
	if accountTag && nick != "" && e.Source.Ident != "" && !t.isMe(nick) {
		before, known := t.account(nick)
		if acct, ok := e.Tags.Get("account"); ok {
			t.knownSender(nick, acct)
		} else if e.Command == girc.PRIVMSG || e.Command == girc.NOTICE {
			// The tag is on every message of a logged-in user, so its
			// absence says "not logged in".
			t.knownSender(nick, "")
		}
		if after, nowKnown := t.account(nick); nowKnown != known || after != before {
			eff.members = "*"
		}
	}
	p := e.Params
	switch e.Command {
	case girc.RPL_WELCOME:
		if len(p) > 0 {
			t.me = p[0]
		}
	case girc.RPL_LOGGEDIN: // 900 me nick!user@host account :You are now logged in
		if len(p) > 2 {
			t.myAccount = p[2]
		}
	case girc.RPL_ISUPPORT:
		if len(p) > 2 {
			t.is.parse(p[1 : len(p)-1])
		}
	case "396": // RPL_VISIBLEHOST: our host changed (cloak)
		if len(p) > 1 && t.mask != "" {
			t.mask = t.mask[:strings.IndexByte(t.mask, '@')+1] + p[1]
		}
	case girc.CAP_CHGHOST:
		if t.isMe(nick) && len(p) > 1 {
			t.mask = nick + "!" + p[0] + "@" + p[1]
		}
	case girc.JOIN:
		if len(p) == 0 || nick == "" {
			break
		}
		ch := p[0]
		if t.isMe(nick) {
			t.mask = e.Source.String()
			t.chans[t.is.fold(ch)] = &trackedChan{name: ch, joinedAt: now}
			eff.joined = ch
			break
		}
		if t.channel(ch) == nil {
			break
		}
		u := t.user(nick)
		u.chans[t.is.fold(ch)] = true
		if len(p) >= 3 { // extended-join: JOIN #chan account :realname
			t.setAccount(nick, p[1])
		} else if e.Tags != nil {
			// account-tag on the JOIN itself; without either, the
			// account stays unknown and the nick counts as an outsider.
			if acct, ok := e.Tags.Get("account"); ok {
				t.setAccount(nick, acct)
			}
		}
		eff.members = ch
	case girc.PART, girc.KICK:
		if len(p) == 0 {
			break
		}
		who := nick
		if e.Command == girc.KICK {
			if len(p) < 2 {
				break
			}
			who = p[1]
		}
		if t.isMe(who) {
			t.forgetChannel(p[0])
			eff.left = p[0]
			break
		}
		t.leave(who, p[0])
		eff.members = p[0]
	case girc.QUIT:
		delete(t.users, t.is.fold(nick))
		eff.members = "*"
	case girc.NICK:
		if len(p) == 0 {
			break
		}
		if t.isMe(nick) {
			t.me = p[0]
			if i := strings.IndexByte(t.mask, '!'); i > 0 {
				t.mask = p[0] + t.mask[i:]
			}
			eff.nickChanged = true
			break
		}
		if u := t.lookup(nick); u != nil {
			delete(t.users, t.is.fold(nick))
			u.nick = p[0]
			t.users[t.is.fold(p[0])] = u
			eff.members = "*"
		}
	case girc.CAP_ACCOUNT:
		if len(p) > 0 && nick != "" && !t.isMe(nick) {
			t.setAccount(nick, p[0])
			eff.members = "*"
		}
	case girc.RPL_NAMREPLY: // 353 me = #chan :@alice +bob carol!c@host
		if len(p) < 4 {
			break
		}
		c := t.channel(p[2])
		if c == nil {
			break
		}
		for _, entry := range strings.Fields(p[3]) {
			n := strings.TrimLeft(entry, t.is.prefixChars)
			prefixes := entry[:len(entry)-len(n)]
			if i := strings.IndexByte(n, '!'); i >= 0 { // userhost-in-names
				n = n[:i]
			}
			if n == "" {
				continue
			}
			if t.isMe(n) {
				c.op = strings.ContainsAny(prefixes, t.opChars())
				eff.modes = c.name
				continue
			}
			t.user(n).chans[t.is.fold(c.name)] = true
		}
		eff.members = c.name
	case girc.RPL_ENDOFNAMES: // 366 me #chan :End of /NAMES list.
		// Without WHOX the names are all we will learn; with it, the
		// accounts come with the WHO reply that ends with 315.
		if c := t.channel(p1(p)); c != nil && !t.is.whox {
			c.membersKnown = true
			eff.members = c.name
		}
	case girc.RPL_ENDOFWHO: // 315 me #chan :End of /WHO list.
		if c := t.channel(p1(p)); c != nil {
			c.membersKnown = true
			eff.members = c.name
		}
	case girc.RPL_WHOSPCRPL: // 354 me <token> <channel> <nick> <flags> <account>
		if len(p) >= 8 && p[1] == "1" && t.lookup(p[5]) != nil {
			// girc's own WHO of someone who joined (%tacuhnr: channel,
			// user, host, nick, account): their account, on servers
			// without extended-join.
			t.setAccount(p[5], p[6])
			eff.members = "*"
			break
		}
		if len(p) < 6 || p[1] != t.whoxToken {
			break
		}
		c := t.channel(p[2])
		if c != nil && t.isMe(p[3]) {
			c.op = strings.ContainsAny(p[4], t.opChars())
			eff.modes = c.name
			break
		}
		if c != nil {
			t.user(p[3]).chans[t.is.fold(c.name)] = true
			t.setAccount(p[3], p[5])
			eff.members = c.name
		}
	case girc.RPL_CHANNELMODEIS: // 324 me #chan +modes args...
		if len(p) < 3 {
			break
		}
		if c := t.channel(p[1]); c != nil {
			c.modes = chanModes{}
			c.modes.apply(&t.is, t.is.parseModes(p[2], p[3:]))
			c.modesKnown = true
			eff.modes = c.name
		}
	case girc.MODE:
		if len(p) < 2 {
			break
		}
		c := t.channel(p[0])
		if c == nil {
			break
		}
		changes := t.is.parseModes(p[1], p[2:])
		c.modes.apply(&t.is, changes)
		for _, ch := range changes {
			if strings.IndexByte(t.is.prefixModes, ch.mode) >= 0 && t.isMe(ch.arg) && t.isOpMode(ch.mode) {
				c.op = ch.add
			}
		}
		eff.modes = c.name
	}
	return eff
}

// knownSender records the account a message's tag vouches for, but only
// for users we track: a stranger's PM must not grow the table.
func (t *tracker) knownSender(nick, account string) {
	if t.lookup(nick) != nil {
		t.setAccount(nick, account)
	}
}

// forgetChannel drops a channel we left and everyone we knew only from it.
func (t *tracker) forgetChannel(name string) {
	k := t.is.fold(name)
	delete(t.chans, k)
	for nk, u := range t.users {
		delete(u.chans, k)
		if len(u.chans) == 0 {
			delete(t.users, nk)
		}
	}
}

// opChars are the prefixes that mean channel operator or above: the
// PREFIX entries up to and including o.
func (t *tracker) opChars() string {
	i := strings.IndexByte(t.is.prefixModes, 'o')
	if i < 0 {
		return "@"
	}
	return t.is.prefixChars[:i+1]
}

func (t *tracker) isOpMode(m byte) bool {
	i := strings.IndexByte(t.is.prefixModes, 'o')
	j := strings.IndexByte(t.is.prefixModes, m)
	return i >= 0 && j >= 0 && j <= i
}

// prefixLen is the length of ":"-less "nick!user@host" the server puts
// before our lines: exact once our JOIN showed it, else the worst case the
// server's limits allow.
func (t *tracker) prefixLen() int {
	if t.mask != "" {
		return len(t.mask)
	}
	return len(t.me) + 1 + t.is.userLen + 1 + 1 + t.is.hostLen // "~" may precede the user
}

// p1 is the second parameter, or "".
func p1(p []string) string {
	if len(p) > 1 {
		return p[1]
	}
	return ""
}
