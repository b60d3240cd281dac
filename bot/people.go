package bot

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Role decides what a team member may do.
type Role string

const (
	RoleOfficer Role = "officer" // security officer: may do everything
	RoleMember  Role = "member"  // team member: triage work on incidents
)

// Notify preferences: how a person wants pings delivered.
const (
	NotifyDM      = "dm"
	NotifyChannel = "channel"
	// NotifyEmail: by mail to Email, encrypted to the person's own key,
	// for people who are not on chat.
	NotifyEmail = "email"
)

// Person is a declared team member. Anyone not declared is an outsider.
type Person struct {
	Name       string
	Role       Role
	Mattermost string // username; the adapter resolves it to an id once
	IRCAccount string // services account, never a nick
	Email      string
	Location   *time.Location
	QuietHours QuietHours
	Notify     string // NotifyDM, NotifyChannel or NotifyEmail
}

// IsOfficer reports whether p is a security officer.
func (p *Person) IsOfficer() bool { return p != nil && p.Role == RoleOfficer }

// People is the directory of declared team members, looked up by the
// identities each platform can vouch for.
type People struct {
	list   []*Person
	byName map[string]*Person
	byMM   map[string]*Person
	byIRC  map[string]*Person
	byMail map[string]*Person
}

// NewPeople builds the directory and refuses duplicates: two people sharing
// an identity would let one act as the other.
func NewPeople(list []Person) (*People, error) {
	p := &People{
		byName: map[string]*Person{},
		byMM:   map[string]*Person{},
		byIRC:  map[string]*Person{},
		byMail: map[string]*Person{},
	}
	for i := range list {
		person := list[i]
		if person.Location == nil {
			person.Location = time.UTC
		}
		if person.Notify == "" {
			person.Notify = NotifyDM
		}
		pp := &person
		for _, idx := range []struct {
			m    map[string]*Person
			key  string
			what string
		}{
			{p.byName, strings.ToLower(person.Name), "name"},
			{p.byMM, strings.ToLower(person.Mattermost), "mattermost username"},
			{p.byIRC, strings.ToLower(person.IRCAccount), "irc_account"},
			{p.byMail, strings.ToLower(person.Email), "email"},
		} {
			if idx.key == "" {
				continue
			}
			if other, dup := idx.m[idx.key]; dup {
				return nil, fmt.Errorf("people %q and %q share the %s %q", other.Name, person.Name, idx.what, idx.key)
			}
			idx.m[idx.key] = pp
		}
		p.list = append(p.list, pp)
	}
	return p, nil
}

// All returns every person in declaration order.
func (p *People) All() []*Person { return p.list }

// Names returns the sorted names of everyone, for messages.
func (p *People) Names() []string {
	names := make([]string, len(p.list))
	for i, person := range p.list {
		names[i] = person.Name
	}
	sort.Strings(names)
	return names
}

// ByName finds a person by their name in the config (case-insensitive).
func (p *People) ByName(name string) *Person { return p.byName[strings.ToLower(name)] }

// ByMattermost finds a person by Mattermost username.
func (p *People) ByMattermost(username string) *Person {
	return p.byMM[strings.ToLower(strings.TrimPrefix(username, "@"))]
}

// ByIRCAccount finds a person by services account. Accounts compare
// case-insensitively, as IRC servers do.
func (p *People) ByIRCAccount(account string) *Person {
	if account == "" || account == "*" || account == "0" {
		return nil // the markers IRC uses for "not logged in"
	}
	return p.byIRC[strings.ToLower(account)]
}

// ByEmail finds a person by address.
func (p *People) ByEmail(addr string) *Person { return p.byMail[strings.ToLower(addr)] }

// Officers returns the security officers in declaration order.
func (p *People) Officers() []*Person {
	var out []*Person
	for _, person := range p.list {
		if person.IsOfficer() {
			out = append(out, person)
		}
	}
	return out
}

// Platforms an actor can act from.
const (
	PlatformConsole    = "console"
	PlatformCLI        = "cli"
	PlatformMattermost = "mattermost"
	PlatformIRC        = "irc"
	PlatformEmail      = "email"
	PlatformWeb        = "web"
	PlatformSystem     = "system" // sectriage itself: intake, escalations
)

// Actor is who runs a command and from where. A nil Person is an outsider.
type Actor struct {
	Person   *Person
	Platform string
}

// SystemActor is sectriage acting on its own (intake, escalation).
func SystemActor() Actor { return Actor{Platform: PlatformSystem} }

// Name is the actor's name for the timeline.
func (a Actor) Name() string {
	switch {
	case a.Person != nil:
		return a.Person.Name
	case a.Platform == PlatformSystem:
		return "sectriage"
	default:
		return "outsider"
	}
}

// Location is the time zone replies to this actor use.
func (a Actor) Location() *time.Location {
	if a.Person != nil && a.Person.Location != nil {
		return a.Person.Location
	}
	return time.UTC
}

// QuietHours is a daily window in the person's own time zone when only
// critical pings go out. Start == End means none.
type QuietHours struct {
	Start, End int // minutes after midnight
}

// ParseQuietHours reads "22:00-07:00".
func ParseQuietHours(s string) (QuietHours, error) {
	if strings.TrimSpace(s) == "" {
		return QuietHours{}, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("bad quiet hours %q: write HH:MM-HH:MM, e.g. 22:00-07:00", s)
	}
	a, err1 := parseClock(from)
	b, err2 := parseClock(to)
	if err1 != nil || err2 != nil {
		return QuietHours{}, fmt.Errorf("bad quiet hours %q: write HH:MM-HH:MM, e.g. 22:00-07:00", s)
	}
	return QuietHours{Start: a, End: b}, nil
}

// parseClock reads "HH:MM" as minutes after midnight.
func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Contains reports whether t falls in the quiet window, in loc.
func (q QuietHours) Contains(t time.Time, loc *time.Location) bool {
	if q.Start == q.End {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End // wraps midnight
}

func (q QuietHours) String() string {
	if q.Start == q.End {
		return ""
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", q.Start/60, q.Start%60, q.End/60, q.End%60)
}

// IncidentPeople is who belongs in an incident's own channel, on every
// platform: its assignee, its manager and the officers, each once.
func IncidentPeople(st *Settings, inc *Incident) []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if name != "" && !seen[strings.ToLower(name)] {
			seen[strings.ToLower(name)] = true
			out = append(out, name)
		}
	}
	add(inc.Assignee)
	add(inc.Manager)
	for _, o := range st.People.Officers() {
		add(o.Name)
	}
	return out
}
