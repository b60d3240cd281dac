package bot

import (
	"strings"
	"time"
)

// rosterView is what a sweep's plan takes from the roster, apart from the
// incident itself: who is away, who is on duty and leads each SIG, and the
// officers on duty and free. Comparing two views tells which incidents a
// roster change may concern (see changedSince).
type rosterView struct {
	settings *Settings
	officers string            // the officers' on-duty, then each officer not away
	away     map[string]string // lower-cased name → name, of everyone away
	sigs     map[string]sigView
}

type sigView struct{ onDuty, lead string }

func viewRoster(st *Settings, rs *RosterState, now time.Time) *rosterView {
	v := &rosterView{settings: st, away: map[string]string{}, sigs: make(map[string]sigView, len(st.SIGs))}
	if rs != nil {
		for _, o := range rs.Overrides {
			if o.Kind == OverrideAway && o.Covers(now) {
				v.away[strings.ToLower(o.Person)] = o.Person
			}
		}
	}
	officers := []string{OnDutyAt(st, rs, Officers, now).Person}
	for _, o := range st.People.Officers() {
		if rs.Away(o.Name, now) == nil {
			officers = append(officers, o.Name)
		}
	}
	v.officers = strings.Join(officers, "\n")
	for _, g := range st.SIGs {
		v.sigs[g.Name] = sigView{onDuty: OnDutyAt(st, rs, g.Name, now).Person, lead: rs.Lead(g)}
	}
	return v
}

// sweepScope is what a sweep must read besides the incidents that are due:
// every open incident, or those of some SIGs and people.
type sweepScope struct {
	all    bool
	sigs   []string // SIG names as configured
	people []string // assignees and managers, as the roster and settings spell them
}

// changedSince returns the incidents whose plan may differ from what the
// last sweep (which saw old) planned, because the roster changed:
//   - a SIG's on-duty or lead changed: its unacknowledged incidents follow
//     the on-duty, and stand-ins and escalations name the lead;
//   - someone went away or came back: the incidents they hold change
//     hands, and in the SIGs they are a deputy or lead of, stand-ins and
//     the deputy step change;
//   - the officers on duty or free changed, or the settings: every
//     incident, since the officer step and manager stand-ins name them.
func (v *rosterView) changedSince(old *rosterView) sweepScope {
	if old == nil || old.settings != v.settings || old.officers != v.officers {
		return sweepScope{all: true}
	}
	var sc sweepScope
	changedSIG := map[string]bool{}
	for name, now := range v.sigs {
		if prev, ok := old.sigs[name]; !ok || !strings.EqualFold(prev.onDuty, now.onDuty) || !strings.EqualFold(prev.lead, now.lead) {
			changedSIG[name] = true
		}
	}
	person := func(name string) {
		sc.people = append(sc.people, name)
		if p := v.settings.People.ByName(name); p != nil && p.Name != name {
			sc.people = append(sc.people, p.Name)
		}
		for _, g := range v.settings.SIGs {
			if strings.EqualFold(v.sigs[g.Name].lead, name) || containsFold(g.Deputies, name) {
				changedSIG[g.Name] = true
			}
		}
	}
	for k, name := range v.away {
		if _, ok := old.away[k]; !ok {
			person(name)
		}
	}
	for k, name := range old.away {
		if _, ok := v.away[k]; !ok {
			person(name)
		}
	}
	for _, g := range v.settings.SIGs { // config order: a stable query
		if changedSIG[g.Name] {
			sc.sigs = append(sc.sigs, g.Name)
		}
	}
	return sc
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
