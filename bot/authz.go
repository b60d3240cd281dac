package bot

import (
	"context"
	"fmt"
	"strings"
)

// Rule says who may do something. It is declared once, by the command
// that offers the change (its help shows Who), and every state-changing
// method of Service and Duty takes it and checks it inside its write
// transaction, against the incident or roster as it is then: a claim that
// lands first cannot be overtaken by a check made on an older copy.
//
// The zero Rule allows nobody but sectriage itself.
type Rule struct {
	name string
	who  string // for help: "the assignee or a security officer"
	// static rules depend on the actor alone, so they can be checked
	// before anything is read.
	static bool
	// needsLead says allows reads Scope.Leads (a roster lookup).
	needsLead bool
	allows    func(p *Person, sc *Scope) bool
	// refusal names who may, for this scope: "the assignee of SEC-4 (erin)
	// or a security officer".
	refusal func(sc *Scope) string
}

// Scope is what a rule looks at: the incident being changed, or the team
// and person a roster change is about.
type Scope struct {
	Incident *Incident // nil for roster changes
	Team     string    // the SIG concerned, or Officers
	Leads    []string  // current leads of the SIGs concerned
	Person   string    // the person a roster change is about (away)
}

// The rules. Officers may do everything; sectriage itself (SystemActor)
// passes every rule.
var (
	// Member: any member of the security team.
	Member = Rule{name: "member", who: "any team member", static: true,
		allows: func(p *Person, sc *Scope) bool { return true }}
	// Officer: security officers only.
	Officer = Rule{name: "officer", who: "security officers", static: true,
		allows:  func(p *Person, sc *Scope) bool { return false },
		refusal: func(*Scope) string { return "a security officer" }}
	// AssigneeOrOfficer: the incident's assignee or an officer.
	AssigneeOrOfficer = Rule{name: "assignee-or-officer", who: "the assignee or a security officer",
		allows:  func(p *Person, sc *Scope) bool { return sc.isAssignee(p) },
		refusal: func(sc *Scope) string { return sc.assigneeText() + " or a security officer" }}
	// LeadOrOfficer: the lead of the SIG concerned or an officer. Only
	// officers change the officers' own rotation.
	LeadOrOfficer = Rule{name: "lead-or-officer", who: "the SIG lead or a security officer", needsLead: true,
		allows: func(p *Person, sc *Scope) bool { return sc.isLead(p) },
		refusal: func(sc *Scope) string {
			if sc.Team == Officers {
				return "a security officer"
			}
			return sc.leadText() + " or a security officer"
		}}
	// SelfLeadOrOfficer: the person concerned, a lead of one of their
	// SIGs, or an officer.
	SelfLeadOrOfficer = Rule{name: "self-lead-or-officer", who: "the person themselves, a lead of their SIG or a security officer", needsLead: true,
		allows: func(p *Person, sc *Scope) bool { return strings.EqualFold(p.Name, sc.Person) || sc.isLead(p) },
		refusal: func(sc *Scope) string {
			return fmt.Sprintf("%s, the lead of one of their SIGs or a security officer", sc.Person)
		}}
	// RouteRule: the assignee, the lead of the incident's SIG or an
	// officer; any member while nobody has claimed it. Routing hands the
	// incident to the new SIG's on-duty contact, so it must never be a way
	// to take over someone else's claim.
	RouteRule = Rule{name: "route", who: "the assignee, the SIG lead or a security officer; any team member while it is unclaimed", needsLead: true,
		allows: func(p *Person, sc *Scope) bool {
			return sc.isAssignee(p) || sc.isLead(p) || (sc.Incident != nil && !sc.Incident.Claimed)
		},
		refusal: func(sc *Scope) string {
			return fmt.Sprintf("%s, %s or a security officer (it is claimed)", sc.assigneeText(), sc.leadText())
		}}
	// SystemOnly allows sectriage itself and nobody else: the sweeps'
	// reassignments.
	SystemOnly = Rule{name: "system", who: "sectriage itself"}
)

// Rules lists every named rule, for tests and documentation.
func Rules() []Rule {
	return []Rule{Member, Officer, AssigneeOrOfficer, LeadOrOfficer, SelfLeadOrOfficer, RouteRule, SystemOnly}
}

// Name is the rule's short name ("assignee-or-officer").
func (r Rule) Name() string { return r.name }

// Who says who may, for help texts.
func (r Rule) Who() string {
	if r.who == "" {
		return "nobody"
	}
	return r.who
}

// Defined reports whether r is one of the named rules (not the zero Rule).
func (r Rule) Defined() bool { return r.name != "" }

// Static reports whether the rule depends on the actor alone.
func (r Rule) Static() bool { return r.static }

// Check applies the rule for actor a; what completes the refusal "Only …
// can <what>.".
func (r Rule) Check(a Actor, sc Scope, what string) error {
	if a.Platform == PlatformSystem && a.Person == nil {
		return nil
	}
	if a.Person == nil {
		return Errorf(KindForbidden, "Only members of the security team can do that.")
	}
	if a.Person.IsOfficer() && r.allows != nil {
		return nil
	}
	if r.allows != nil && r.allows(a.Person, &sc) {
		return nil
	}
	who := r.Who()
	if r.refusal != nil {
		who = r.refusal(&sc)
	}
	return Errorf(KindForbidden, "Only %s can %s.", who, what)
}

// Precheck refuses, before anything is read, an actor who could not pass
// the rule whatever the incident or roster: an outsider, or a member for
// an officers' rule. The full check happens in the transaction.
func (r Rule) Precheck(a Actor, what string) error {
	if a.Person == nil && a.Platform != PlatformSystem {
		return Errorf(KindForbidden, "Only members of the security team can do that.")
	}
	if r.static || r.allows == nil {
		return r.Check(a, Scope{}, what)
	}
	return nil
}

func (sc *Scope) isAssignee(p *Person) bool {
	return sc.Incident != nil && sc.Incident.Assignee != "" && strings.EqualFold(sc.Incident.Assignee, p.Name)
}

func (sc *Scope) isLead(p *Person) bool {
	for _, l := range sc.Leads {
		if l != "" && strings.EqualFold(l, p.Name) {
			return true
		}
	}
	return false
}

func (sc *Scope) assigneeText() string {
	if sc.Incident == nil {
		return "the assignee"
	}
	return fmt.Sprintf("the assignee of %s (%s)", sc.Incident.Name(), orNobody(sc.Incident.Assignee))
}

func (sc *Scope) leadText() string {
	lead := "nobody"
	if len(sc.Leads) > 0 && sc.Leads[0] != "" {
		lead = sc.Leads[0]
	}
	if sc.Team == "" || sc.Team == Officers {
		return "the SIG lead"
	}
	return fmt.Sprintf("the lead of SIG %s (%s)", sc.Team, lead)
}

// authorize checks rule against the incident as the transaction read it.
func (s *Service) authorize(ctx context.Context, st *Settings, a Actor, rule Rule, inc *Incident, what string) error {
	sc := Scope{Incident: inc, Team: inc.SIG}
	if rule.needsLead && a.Person != nil && !a.Person.IsOfficer() {
		sc.Leads = []string{s.lead(ctx, st, inc.SIG)}
	}
	return rule.Check(a, sc, what)
}

// requireMember guards the reads: only team members see incidents.
func requireMember(a Actor) error { return Member.Precheck(a, "do that") }

// requirePerson guards the changes only a person can make (claiming makes
// the actor the assignee).
func requirePerson(a Actor, what string) error {
	if a.Person == nil {
		return Errorf(KindForbidden, "Only a member of the security team can %s.", what)
	}
	return nil
}
