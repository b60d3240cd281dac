package bot

import (
	"slices"
	"strings"
	"time"
)

// Nag topics besides the deadline kinds.
const (
	TopicEmbargo  = "embargo-warning"
	TopicHandover = "handover"
)

// NagKey identifies one ping: a person is asked at most once per subject,
// topic and period.
type NagKey struct {
	Subject int64  // the incident, or the hand-over for TopicHandover
	Topic   string // a DeadlineKind, TopicEmbargo or TopicHandover
	Period  int64  // when the period started, Unix milliseconds
	Person  string
}

// NagHistory is the set of nags already sent.
type NagHistory map[NagKey]struct{}

// Has reports whether k was sent.
func (h NagHistory) Has(k NagKey) bool {
	_, ok := h[k]
	return ok
}

// NagStep is a rung of the escalation ladder, or another reason to ping.
type NagStep string

const (
	StepAssignee NagStep = "assignee" // the incident's assignee (the on-duty contact unless claimed)
	StepDeputy   NagStep = "deputy"   // the SIG's deputy, after DeputyAfter
	StepOfficers NagStep = "officers" // every available officer, after OfficersAfter
	StepEmbargo  NagStep = "embargo"  // the embargo lifts soon
	StepHandover NagStep = "handover" // a lead hand-over waits for acceptance
)

// Nag is one ping the sweep decided to send.
type Nag struct {
	Key      NagKey
	Step     NagStep
	Person   string
	Incident *Incident // nil for hand-overs
	Handover *Handover // StepHandover only
	// Deadline is the deadline that passed (Kind), or when the embargo
	// lifts for StepEmbargo.
	Deadline time.Time
	Kind     DeadlineKind
	// Assignee and Deputy are who was asked before this step, so later
	// steps can say who has not answered.
	Assignee, Deputy string
}

// Reassignment hands an incident to someone else: from an away person to
// their stand-in, or, for an incident nobody has acknowledged or claimed,
// to whoever is on duty now.
type Reassignment struct {
	Incident *Incident
	Manager  bool // the manager moves rather than the assignee
	From, To string
	Away     *Override // From's absence; nil when the incident follows the rotation
}

// SweepPlan is what one sweep decided.
type SweepPlan struct {
	Reassign []Reassignment
	Nags     []Nag
	// Held are nags for people in their quiet hours: not recorded, so a
	// later sweep sends them once the quiet hours end.
	Held []Nag
}

// PlanSweep decides, from the state alone, which incidents change hands
// because someone is away, and whom to ping: the escalation ladder for
// every overdue incident (assignee at once, the SIG's deputy after
// DeputyAfter, the officers after OfficersAfter, everyone again each
// Repeat), embargo warnings, and reminders of pending hand-overs. Snoozed
// incidents get no pings. Nobody is pinged twice for one key; people in
// their quiet hours are held back unless the incident is critical.
// incidents should be in id order: the plan follows it.
func PlanSweep(now time.Time, st *Settings, rs *RosterState, incidents []*Incident, history NagHistory) SweepPlan {
	p := newPlanner(now, st, rs)
	p.history = history
	p.incidents(incidents)
	p.handovers()
	return p.plan
}

// newPlanner prepares a plan at now. The sweep feeds it incidents a page
// at a time (each page with its own history), so that memory does not
// grow with the number of open incidents.
func newPlanner(now time.Time, st *Settings, rs *RosterState) *planner {
	p := &planner{now: now, st: st, rs: rs, esc: st.escalation(),
		planned: map[NagKey]bool{}, onDuty: map[string]string{}, sigs: make(map[string]*SIG, len(st.SIGs))}
	for _, g := range st.SIGs {
		p.sigs[g.Name] = g
	}
	for _, o := range st.People.Officers() {
		if rs.Away(o.Name, now) == nil {
			p.officersFree = append(p.officersFree, o.Name)
		}
	}
	return p
}

// incidents plans the reassignments and pings of incidents.
func (p *planner) incidents(incidents []*Incident) {
	for _, inc := range incidents {
		if !inc.State.Open() {
			continue
		}
		assignee, manager := p.reassign(inc)
		if inc.SnoozedUntil.After(p.now) {
			continue
		}
		p.embargo(inc, assignee, manager)
		p.escalate(inc, assignee, manager)
	}
}

// handovers plans the reminders of pending hand-overs.
func (p *planner) handovers() {
	if p.rs != nil {
		for _, h := range p.rs.Handovers {
			p.handover(h)
		}
	}
}

// take returns what was planned so far and starts an empty plan. Keys
// name their incident, so forgetting them between pages loses nothing.
func (p *planner) take() SweepPlan {
	plan := p.plan
	p.plan = SweepPlan{}
	clear(p.planned)
	return plan
}

// nextAction is inc.NextAction with the SIG's policy found in the
// planner's index.
func (p *planner) nextAction(inc *Incident) time.Time {
	policy := p.st.Deadlines
	if g := p.sig(inc.SIG); g != nil && g.Deadlines != nil {
		policy = *g.Deadlines
	}
	return inc.nextAction(p.esc, policy.EmbargoWarnings, p.now)
}

type planner struct {
	now     time.Time
	st      *Settings
	rs      *RosterState
	history NagHistory
	esc     EscalationPolicy
	plan    SweepPlan
	planned map[NagKey]bool
	// Computed once per sweep rather than once per incident: with
	// thousands of incidents, scanning every SIG or person each time
	// dominated the sweep.
	onDuty       map[string]string // SIG → on-duty person now
	sigs         map[string]*SIG   // by the name incidents store
	officersFree []string          // officers not away now, in declaration order
}

// sig finds an incident's SIG; incidents store the name as configured.
func (p *planner) sig(name string) *SIG {
	if g, ok := p.sigs[name]; ok {
		return g
	}
	return p.st.SIG(name) // a name in another case: the slow path
}

// reassign plans the hand-over of an away assignee's or manager's incident,
// and moves an incident that nobody has acknowledged or claimed to the
// SIG's on-duty contact when the duty has changed hands (hand-off, cover,
// absence). It returns who holds the incident afterwards.
func (p *planner) reassign(inc *Incident) (assignee, manager string) {
	assignee, manager = inc.Assignee, inc.Manager
	if inc.State == StateNew && !inc.Claimed {
		if to := p.sigOnDuty(inc.SIG); to != "" && !strings.EqualFold(to, assignee) {
			// Say it is an absence when it is one: that is the news.
			away := p.rs.Away(assignee, p.now)
			p.plan.Reassign = append(p.plan.Reassign, Reassignment{Incident: inc, From: assignee, To: to, Away: away})
			assignee = to
		}
	} else if away := p.rs.Away(assignee, p.now); away != nil {
		if to := StandIn(p.st, p.rs, inc.SIG, assignee, p.now); !strings.EqualFold(to, assignee) {
			p.plan.Reassign = append(p.plan.Reassign, Reassignment{Incident: inc, From: assignee, To: to, Away: away})
			assignee = to
		}
	}
	if away := p.rs.Away(manager, p.now); away != nil {
		if to := StandIn(p.st, p.rs, Officers, manager, p.now); !strings.EqualFold(to, manager) {
			p.plan.Reassign = append(p.plan.Reassign, Reassignment{Incident: inc, Manager: true, From: manager, To: to, Away: away})
			manager = to
		}
	}
	return assignee, manager
}

// add plans a ping unless it was sent or planned, or holds it back for
// quiet hours.
func (p *planner) add(n Nag, critical bool) {
	if n.Person == "" || p.history.Has(n.Key) || p.planned[n.Key] {
		return
	}
	person := p.st.People.ByName(n.Person)
	if person == nil {
		return // not on the team (any more): nobody to ping
	}
	if !critical && person.QuietHours.Contains(p.now, person.Location) {
		p.plan.Held = append(p.plan.Held, n)
		return
	}
	p.planned[n.Key] = true
	p.plan.Nags = append(p.plan.Nags, n)
}

func (p *planner) escalate(inc *Incident, assignee, manager string) {
	if !inc.Overdue(p.now) {
		return
	}
	since := p.now.Sub(inc.Due)
	round := since / p.esc.Repeat
	period := inc.Due.Add(round * p.esc.Repeat).UnixMilli()
	critical := inc.Severity == SeverityCritical
	if assignee == "" {
		assignee = p.sigOnDuty(inc.SIG)
	}
	base := Nag{Incident: inc, Deadline: inc.Due, Kind: inc.DueKind, Assignee: assignee,
		Key: NagKey{Subject: inc.ID, Topic: string(inc.DueKind), Period: period}}
	step := func(s NagStep, person string) {
		n := base
		n.Step, n.Person, n.Key.Person = s, person, person
		p.add(n, critical)
	}
	step(StepAssignee, assignee)
	if since >= p.esc.DeputyAfter {
		base.Deputy = deputyOf(p.sig(inc.SIG), p.rs, assignee, p.now)
		step(StepDeputy, base.Deputy)
	}
	if since >= p.esc.OfficersAfter {
		for _, o := range p.officers(manager) {
			step(StepOfficers, o)
		}
	}
}

// officers lists the available officers, the incident's manager first.
func (p *planner) officers(manager string) []string {
	i := slices.IndexFunc(p.officersFree, func(o string) bool { return strings.EqualFold(o, manager) })
	if i <= 0 {
		return p.officersFree // the manager is first already, away, or no officer
	}
	out := make([]string, 0, len(p.officersFree))
	out = append(out, p.officersFree[i])
	out = append(out, p.officersFree[:i]...)
	return append(out, p.officersFree[i+1:]...)
}

func (p *planner) sigOnDuty(sig string) string {
	if name, ok := p.onDuty[sig]; ok {
		return name
	}
	name := OnDutyAt(p.st, p.rs, sig, p.now).Person
	p.onDuty[sig] = name
	return name
}

// embargo warns the assignee and manager as each warning time passes; if
// several passed (an embargo set at short notice), only the latest counts.
func (p *planner) embargo(inc *Incident, assignee, manager string) {
	if inc.Embargo.IsZero() || inc.State == StateDisclosed || !p.now.Before(inc.Embargo) {
		return
	}
	var at time.Time
	policy := p.st.Deadlines
	if g := p.sig(inc.SIG); g != nil && g.Deadlines != nil {
		policy = *g.Deadlines
	}
	for _, w := range policy.EmbargoWarnings {
		if t := inc.Embargo.Add(-w); !p.now.Before(t) && t.After(at) {
			at = t
		}
	}
	if at.IsZero() {
		return
	}
	for _, person := range uniqueNames(assignee, manager) {
		p.add(Nag{Step: StepEmbargo, Person: person, Incident: inc, Deadline: inc.Embargo, Kind: DeadlineEmbargo,
			Key: NagKey{Subject: inc.ID, Topic: TopicEmbargo, Period: at.UnixMilli(), Person: person}},
			inc.Severity == SeverityCritical)
	}
}

// handover reminds both sides of a pending hand-over once per period; the
// command itself pinged them in the first one.
func (p *planner) handover(h *Handover) {
	if !h.Pending() {
		return
	}
	round := p.now.Sub(h.Requested) / p.esc.Repeat
	if round < 1 {
		return
	}
	period := h.Requested.Add(round * p.esc.Repeat).UnixMilli()
	for _, person := range uniqueNames(h.To, h.From) {
		p.add(Nag{Step: StepHandover, Person: person, Handover: h,
			Key: NagKey{Subject: h.ID, Topic: TopicHandover, Period: period, Person: person}}, false)
	}
}

func uniqueNames(names ...string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, n) }) {
			out = append(out, n)
		}
	}
	return out
}

// maxEmbargoWarning is the longest embargo warning of any SIG: how far
// ahead a sweep must look for embargoes.
func (s *Settings) maxEmbargoWarning() time.Duration {
	var longest time.Duration
	policies := []DeadlinePolicy{s.Deadlines}
	for _, g := range s.SIGs {
		if g.Deadlines != nil {
			policies = append(policies, *g.Deadlines)
		}
	}
	for _, p := range policies {
		for _, w := range p.EmbargoWarnings {
			longest = max(longest, w)
		}
	}
	return longest
}
