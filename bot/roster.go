package bot

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Officers is the team name of the security officers' rotation, which
// picks each incident's manager. No SIG may be called that.
const Officers = "officers"

// Override kinds.
const (
	OverrideCover = "cover" // Person is on duty for SIG instead of the rotation
	OverrideAway  = "away"  // Person is unavailable: stand-ins take their shifts and incidents
)

// Override is a cover or an absence, from From until Until.
type Override struct {
	ID      int64
	Kind    string // OverrideCover or OverrideAway
	SIG     string // cover: the SIG (or Officers); away: empty
	Person  string
	From    time.Time
	Until   time.Time
	Created time.Time
	By      string // who set it
}

// Covers reports whether the override is in force at t.
func (o *Override) Covers(t time.Time) bool { return !t.Before(o.From) && t.Before(o.Until) }

// Handover moves a SIG's lead from one person to another. It is complete
// only once the new lead accepts it.
type Handover struct {
	ID   int64
	SIG  string
	From string // the lead when it was asked for
	To   string
	// ConfigLead is the lead the config named when the hand-over was
	// asked for: once an operator changes the config, the config wins.
	ConfigLead string
	Requested  time.Time
	By         string
	Accepted   time.Time // zero while pending
	Cancelled  time.Time // zero unless withdrawn or replaced
}

// Pending reports whether the hand-over waits for its acceptance.
func (h *Handover) Pending() bool { return h.Accepted.IsZero() && h.Cancelled.IsZero() }

// RosterState is what the roster stores: covers and absences, and lead
// hand-overs. With the settings and a time, it decides who is on duty.
type RosterState struct {
	Overrides []*Override // oldest first
	// Handovers holds the pending ones and the latest accepted per SIG.
	Handovers []*Handover
}

// RosterEvent is one entry of the roster's history (append-only).
type RosterEvent struct {
	ID       int64
	At       time.Time
	Actor    string
	Platform string
	Kind     string // cover, away, back, handover, accepted
	SIG      string // empty when about a person only
	Person   string
	Details  string
}

// Away returns the absence of person that covers t, or nil.
func (rs *RosterState) Away(person string, t time.Time) *Override {
	if rs == nil || person == "" {
		return nil
	}
	var found *Override
	for _, o := range rs.Overrides {
		if o.Kind == OverrideAway && strings.EqualFold(o.Person, person) && o.Covers(t) {
			if found == nil || o.Until.After(found.Until) {
				found = o // the absence that lasts longest says when they are back
			}
		}
	}
	return found
}

// Cover returns the cover of team in force at t: the newest one wins, so
// a mistaken cover is corrected by setting another.
func (rs *RosterState) Cover(team string, t time.Time) *Override {
	if rs == nil {
		return nil
	}
	for i := len(rs.Overrides) - 1; i >= 0; i-- {
		o := rs.Overrides[i]
		if o.Kind == OverrideCover && strings.EqualFold(o.SIG, team) && o.Covers(t) {
			return o
		}
	}
	return nil
}

// PendingHandover returns the hand-over of sig waiting for acceptance.
func (rs *RosterState) PendingHandover(sig string) *Handover {
	if rs == nil {
		return nil
	}
	for _, h := range rs.Handovers {
		if h.Pending() && strings.EqualFold(h.SIG, sig) {
			return h
		}
	}
	return nil
}

// Lead returns the SIG's lead: the last accepted hand-over's new lead, as
// long as the config still names the lead it was made against.
func (rs *RosterState) Lead(g *SIG) string {
	if g == nil {
		return ""
	}
	lead := g.Lead
	var latest *Handover
	if rs != nil {
		for _, h := range rs.Handovers {
			if !h.Accepted.IsZero() && h.Cancelled.IsZero() && strings.EqualFold(h.SIG, g.Name) &&
				(latest == nil || h.Accepted.After(latest.Accepted)) {
				latest = h
			}
		}
	}
	if latest != nil && strings.EqualFold(latest.ConfigLead, g.Lead) {
		lead = latest.To
	}
	return lead
}

// Duty sources: why someone is on duty.
const (
	SourceRotation = "rotation"
	SourceCover    = "cover"
	SourceLead     = "lead"    // the SIG has no rotation
	SourceOfficer  = "officer" // the officers have no rotation: the first officer
	SourceNobody   = "nobody"
)

// OnCall says who is on the hook for a team (a SIG or Officers) at a moment.
type OnCall struct {
	Team   string
	Person string // empty only when nobody at all can be found
	Source string // Source* constant: how the base person was chosen
	Base   string // whom the rotation, cover or lead names
	Cover  *Override
	// Away is Base's absence when Person stands in for them.
	Away *Override
}

// OnDutyAt decides who is on duty for team at t: a cover in force wins,
// otherwise the rotation's member (or the lead, or the first officer, when
// there is no rotation). When that person is away, the first available
// deputy stands in, then the lead, then the officers' on-duty. It is a pure
// function of the settings, the roster and t.
func OnDutyAt(st *Settings, rs *RosterState, team string, t time.Time) OnCall {
	d := OnCall{Team: team}
	var rot *Rotation
	var g *SIG
	if strings.EqualFold(team, Officers) {
		d.Team, rot = Officers, st.Officers
	} else if g = st.SIG(team); g != nil {
		d.Team, rot = g.Name, g.Rotation
	} else {
		d.Source = SourceNobody
		return d
	}
	switch c := rs.Cover(d.Team, t); {
	case c != nil:
		d.Base, d.Source, d.Cover = c.Person, SourceCover, c
	case rot != nil && len(rot.Members) > 0:
		d.Base, d.Source = rot.MemberAt(t), SourceRotation
	case g != nil:
		d.Base, d.Source = rs.Lead(g), SourceLead
	default:
		if officers := st.People.Officers(); len(officers) > 0 {
			d.Base, d.Source = officers[0].Name, SourceOfficer
		}
	}
	d.Person = d.Base
	if d.Base == "" {
		d.Source = SourceNobody
		return d
	}
	if d.Away = rs.Away(d.Base, t); d.Away == nil {
		return d
	}
	d.Person = StandIn(st, rs, d.Team, d.Base, t)
	return d
}

// StandIn finds who takes over from an away person in a team at t: the
// team's first deputy who is available, then its lead, then the officers'
// on-duty. For the officers it is the next available officer of their
// rotation, then any officer. If everyone is away, it is the person itself:
// someone must stay on the hook.
func StandIn(st *Settings, rs *RosterState, team, away string, t time.Time) string {
	free := func(name string) bool {
		return name != "" && !strings.EqualFold(name, away) && rs.Away(name, t) == nil
	}
	if strings.EqualFold(team, Officers) {
		var order []string
		if st.Officers != nil {
			// Start after the away officer, so duty moves on the way the
			// rotation would move it.
			members := st.Officers.Members
			i := slices.IndexFunc(members, func(m string) bool { return strings.EqualFold(m, away) })
			order = append(order, members[i+1:]...)
			order = append(order, members[:max(i, 0)]...)
		}
		for _, o := range st.People.Officers() {
			order = append(order, o.Name)
		}
		for _, name := range order {
			if free(name) {
				return name
			}
		}
		return away
	}
	g := st.SIG(team)
	if g == nil {
		return away
	}
	for _, d := range g.Deputies {
		if free(d) {
			return d
		}
	}
	if lead := rs.Lead(g); free(lead) {
		return lead
	}
	if o := OnDutyAt(st, rs, Officers, t); free(o.Person) {
		return o.Person
	}
	return away
}

// deputyOf returns the SIG's first deputy available at t who is not
// exclude, or "" when there is none: the second step of an escalation.
func deputyOf(g *SIG, rs *RosterState, exclude string, t time.Time) string {
	if g == nil {
		return ""
	}
	for _, d := range g.Deputies {
		if !strings.EqualFold(d, exclude) && rs.Away(d, t) == nil {
			return d
		}
	}
	return ""
}

// NextChange returns when the duty of team next passes to someone else
// after t, and who takes it; zero if nothing changes within a year. It
// looks at rotation hand-offs and at the edges of covers and absences.
func NextChange(st *Settings, rs *RosterState, team string, t time.Time) (time.Time, OnCall) {
	cur := OnDutyAt(st, rs, team, t)
	horizon := t.AddDate(1, 0, 0)
	var cands []time.Time
	add := func(c time.Time) {
		if c.After(t) && !c.After(horizon) {
			cands = append(cands, c)
		}
	}
	rot := st.Officers
	if g := st.SIG(team); g != nil && !strings.EqualFold(team, Officers) {
		rot = g.Rotation
	}
	if rot != nil && len(rot.Members) > 0 {
		h := t
		for i := 0; i <= len(rot.Members); i++ {
			h = rot.NextHandoff(h)
			add(h)
		}
	}
	if rs != nil {
		for _, o := range rs.Overrides {
			if o.Kind == OverrideAway || strings.EqualFold(o.SIG, cur.Team) {
				add(o.From)
				add(o.Until)
			}
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].Before(cands[j]) })
	for _, c := range cands {
		if d := OnDutyAt(st, rs, team, c); !strings.EqualFold(d.Person, cur.Person) {
			return c, d
		}
	}
	return time.Time{}, OnCall{}
}

// IsMember reports whether person belongs to the SIG: a contact, deputy,
// lead or rotation member. SIG leads may manage the roster for them.
func (g *SIG) IsMember(person string) bool {
	if g.HasContact(person) {
		return true
	}
	if g.Rotation != nil {
		for _, m := range g.Rotation.Members {
			if strings.EqualFold(m, person) {
				return true
			}
		}
	}
	return false
}
