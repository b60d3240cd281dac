package mattermost

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// identities maps declared people to Mattermost accounts by user id, the
// one identity Mattermost vouches for. Usernames are looked up once, at
// start, and pinned: a username later renamed away or taken by someone
// else does not move anyone's rights to another account.
type identities struct {
	byPerson map[string]string // lower-case person name → user id
	byID     map[string]string // user id → person name
	username map[string]string // user id → current username, for mentions
	trusted  map[string]bool   // user ids that may sit in private channels besides people
}

// person returns the declared person behind a user id, or nil.
func (a *Adapter) person(c *connection, userID string) *bot.Person {
	name, ok := c.ids.byID[userID]
	if !ok {
		return nil
	}
	return a.svc.Settings().People.ByName(name)
}

// mention returns the username that pings a person, "" if none.
func (c *connection) mention(person string) string {
	id, ok := c.ids.byPerson[strings.ToLower(person)]
	if !ok {
		return ""
	}
	return c.ids.username[id]
}

// Finding is something the start checks noticed that is worth telling
// the operator (sectriage check prints them; the daemon logs them).
type Finding struct {
	Warning bool
	Msg     string
}

// start checks the bot account, the team and the triage channel, and
// resolves the people. Problems the operator must fix are configErrors.
func (a *Adapter) start(ctx context.Context) error {
	c, findings, err := a.inspect(ctx, true)
	if err != nil {
		return err
	}
	for _, f := range findings {
		if f.Warning {
			a.log.Warn(f.Msg)
		} else {
			a.log.Info(f.Msg)
		}
	}
	chans, err := a.store.MattermostIncidentChannels(ctx)
	if err != nil {
		return err
	}
	a.mu.Lock()
	first := a.conn == nil
	a.conn = c
	for ch, inc := range chans {
		a.incidents[ch] = inc
	}
	a.mu.Unlock()
	if first {
		close(a.ready)
	}
	a.log.Info("connected to Mattermost", "bot", c.botName, "team", a.opts.Team, "people", len(c.ids.byPerson))
	// The triage channel's privacy is checked now, not only when something
	// is posted, so a public one is reported at once.
	if _, err := a.verifyChannel(ctx, c, c.triageID, true); err != nil {
		a.log.Error("the triage channel fails its check; nothing will be posted there", "err", err)
	}
	return nil
}

// Refresh resolves the configured people again, after a config reload
// changed them: someone added, or given another username, is looked up,
// pinned and recognised from the next request on; someone removed already
// is, since every lookup goes through the settings in force. Nothing is
// reconnected. Before the start checks have passed it does nothing: they
// resolve with the settings in force anyway.
func (a *Adapter) Refresh(ctx context.Context) error {
	c, err := a.current()
	if err != nil {
		return nil
	}
	ids, findings, err := a.resolvePeople(ctx, true)
	if err != nil {
		return fmt.Errorf("mattermost: resolving the people again: %w", err)
	}
	for _, f := range findings {
		if f.Warning {
			a.log.Warn(f.Msg)
		}
	}
	next := *c
	next.ids = ids
	a.mu.Lock()
	a.conn = &next
	a.mu.Unlock()
	a.log.Info("resolved the people again", "people", len(ids.byPerson))
	return nil
}

// inspect runs the start checks. With pin, newly seen usernames are
// pinned to their ids and changed ones reported to the officers.
func (a *Adapter) inspect(ctx context.Context, pin bool) (*connection, []Finding, error) {
	cctx, cancel := a.call(ctx)
	defer cancel()
	me, resp, err := a.client.GetMe(cctx, "")
	if err := apiErr("checking the bot account", resp, err); err != nil {
		if statusOf(err) == http.StatusUnauthorized || statusOf(err) == http.StatusForbidden {
			return nil, nil, configErrorf("the access token was refused (HTTP %d): make a new token for the bot account and put it in token_file", statusOf(err))
		}
		return nil, nil, err
	}
	var findings []Finding
	if !me.IsBot {
		findings = append(findings, Finding{true, fmt.Sprintf("the token belongs to the user @%s, not to a bot account; a bot account is recommended", me.Username)})
	}
	c := &connection{botID: me.Id, botName: me.Username}
	team, resp, err := a.client.GetTeamByName(cctx, a.opts.Team, "")
	if err := apiErr("looking up the team", resp, err); err != nil {
		if s := statusOf(err); s == http.StatusNotFound || s == http.StatusForbidden {
			return nil, nil, configErrorf("team %q not found, or @%s is not a member of it (add the bot to the team)", a.opts.Team, me.Username)
		}
		return nil, nil, err
	}
	c.teamID = team.Id
	if _, resp, err := a.client.GetTeamMember(cctx, team.Id, me.Id, ""); err != nil {
		if err := apiErr("checking the bot's team membership", resp, err); !transient(err) {
			return nil, nil, configErrorf("@%s is not a member of team %q: add it to the team", me.Username, a.opts.Team)
		} else {
			return nil, nil, err
		}
	}
	name := strings.TrimPrefix(a.opts.TriageChannel, "~")
	triage, resp, err := a.client.GetChannelByName(cctx, name, team.Id, "")
	if err := apiErr("looking up the triage channel", resp, err); err != nil {
		if !transient(err) {
			return nil, nil, configErrorf("triage channel %q not found in team %q, or @%s is not in it: make it a private channel and add the bot (/invite @%s)",
				name, a.opts.Team, me.Username, me.Username)
		}
		return nil, nil, err
	}
	c.triageID = triage.Id
	if triage.Type != model.ChannelTypePrivate {
		findings = append(findings, Finding{true, fmt.Sprintf("triage channel %q is not private (type %s): nothing will be posted there until it is", name, triage.Type)})
	}
	ids, more, err := a.resolvePeople(ctx, pin)
	if err != nil {
		return nil, nil, err
	}
	c.ids = ids
	return c, append(findings, more...), nil
}

// resolvePeople looks up every configured username once and pins it.
func (a *Adapter) resolvePeople(ctx context.Context, pin bool) (*identities, []Finding, error) {
	ids := &identities{byPerson: map[string]string{}, byID: map[string]string{}, username: map[string]string{}, trusted: map[string]bool{}}
	wanted := map[string][]string{} // username → person names ("" for a trusted member)
	for _, p := range a.svc.Settings().People.All() {
		if p.Mattermost != "" {
			u := normUser(p.Mattermost)
			wanted[u] = append(wanted[u], p.Name)
		}
	}
	for _, u := range a.opts.TrustedMembers {
		wanted[normUser(u)] = append(wanted[normUser(u)], "")
	}
	if len(wanted) == 0 {
		return ids, nil, nil
	}
	names := make([]string, 0, len(wanted))
	for u := range wanted {
		names = append(names, u)
	}
	sort.Strings(names)
	cctx, cancel := a.call(ctx)
	defer cancel()
	users, resp, err := a.client.GetUsersByUsernames(cctx, names)
	if err := apiErr("looking up the people's accounts", resp, err); err != nil {
		return nil, nil, err
	}
	byName := map[string]*model.User{}
	for _, u := range users {
		byName[strings.ToLower(u.Username)] = u
	}
	pins, err := a.store.MattermostUserPins(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Accounts named by a pin but no longer by their username.
	var missing []string
	for _, u := range names {
		if id, ok := pins[u]; ok && (byName[u] == nil || byName[u].Id != id) {
			missing = append(missing, id)
		}
	}
	byID := map[string]*model.User{}
	for _, u := range users {
		byID[u.Id] = u
	}
	if len(missing) > 0 {
		more, resp, err := a.client.GetUsersByIds(cctx, missing)
		if err := apiErr("looking up pinned accounts", resp, err); err != nil {
			return nil, nil, err
		}
		for _, u := range more {
			byID[u.Id] = u
		}
	}
	var findings []Finding
	warn := func(format string, args ...any) {
		findings = append(findings, Finding{true, fmt.Sprintf(format, args...)})
	}
	now := a.svc.Clock().Now()
	for _, name := range names {
		who := describe(wanted[name])
		current := byName[name]
		pinned, hasPin := pins[name]
		id := ""
		switch {
		case current != nil && (!hasPin || pinned == current.Id):
			id = current.Id
			if pin && !hasPin {
				got, err := a.store.PinMattermostUser(ctx, name, current.Id, now)
				if err != nil {
					return nil, nil, err
				}
				if got != current.Id { // pinned meanwhile by another process
					id = got
				}
			}
		case current != nil: // the username now names another account
			id = pinned
			msg := fmt.Sprintf("Mattermost username @%s (%s) now belongs to another account (%s) than the one first seen (%s); sectriage keeps trusting the first. If the change is intended, run: sectriage mattermost accept-user -config <file> %s",
				name, who, current.Id, pinned, name)
			warn("%s", msg)
			if pin {
				var t bot.Text
				t.Plain(msg)
				a.alarm(ctx, "mattermost-identity|"+name+"|"+current.Id, t)
			}
		case hasPin:
			id = pinned // renamed: the account keeps its rights
		default:
			warn("no Mattermost account named @%s (%s): they cannot use sectriage on Mattermost", name, who)
			continue
		}
		u := byID[id]
		if u == nil || u.DeleteAt != 0 {
			warn("the Mattermost account of @%s (%s) is deactivated or gone: they cannot use sectriage on Mattermost", name, who)
			continue
		}
		if !strings.EqualFold(u.Username, name) {
			warn("@%s (%s) is now called @%s on Mattermost; sectriage follows the account, not the name", name, who, u.Username)
		}
		ids.username[id] = u.Username
		for _, person := range wanted[name] {
			if person == "" {
				ids.trusted[id] = true
				continue
			}
			if other, dup := ids.byID[id]; dup {
				warn("people %s and %s resolve to the same Mattermost account %s; only %s is recognised", other, person, id, other)
				continue
			}
			ids.byID[id] = person
			ids.byPerson[strings.ToLower(person)] = id
		}
	}
	return ids, findings, nil
}

func normUser(u string) string { return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(u), "@")) }

func describe(persons []string) string {
	var named []string
	for _, p := range persons {
		if p == "" {
			named = append(named, "a trusted member")
		} else {
			named = append(named, "person "+p)
		}
	}
	return strings.Join(named, ", ")
}
