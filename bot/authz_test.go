package bot_test

import (
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// TestRules checks each rule against every kind of actor, on an incident
// erin claimed in SIG core (lead bob) and on one nobody claimed, and on a
// roster change about erin. The command-level table (commands/
// permission_test.go) checks that each command carries the right rule.
func TestRules(t *testing.T) {
	people, err := bot.NewPeople([]bot.Person{
		{Name: "alice", Role: bot.RoleOfficer}, {Name: "bob"}, {Name: "erin"}, {Name: "dave"},
	})
	if err != nil {
		t.Fatal(err)
	}
	as := func(name string) bot.Actor {
		return bot.Actor{Person: people.ByName(name), Platform: bot.PlatformConsole}
	}
	claimed := bot.Scope{Incident: &bot.Incident{ID: 1, SIG: "core", Assignee: "erin", Claimed: true}, Team: "core", Leads: []string{"bob"}}
	unclaimed := bot.Scope{Incident: &bot.Incident{ID: 2, SIG: "core", Assignee: "erin"}, Team: "core", Leads: []string{"bob"}}
	aboutErin := bot.Scope{Person: "erin", Leads: []string{"bob"}}
	officersRoster := bot.Scope{Team: bot.Officers}
	// Who passes each rule, per scope; the outsider never does, sectriage
	// itself always does.
	for _, tc := range []struct {
		rule  bot.Rule
		scope bot.Scope
		want  []string
	}{
		{bot.Member, claimed, []string{"alice", "bob", "erin", "dave"}},
		{bot.Officer, claimed, []string{"alice"}},
		{bot.AssigneeOrOfficer, claimed, []string{"alice", "erin"}},
		{bot.LeadOrOfficer, claimed, []string{"alice", "bob"}},
		{bot.LeadOrOfficer, officersRoster, []string{"alice"}},
		{bot.SelfLeadOrOfficer, aboutErin, []string{"alice", "bob", "erin"}},
		{bot.RouteRule, claimed, []string{"alice", "bob", "erin"}},
		{bot.RouteRule, unclaimed, []string{"alice", "bob", "erin", "dave"}},
		{bot.SystemOnly, claimed, nil},
		{bot.Rule{}, claimed, nil}, // undeclared: nobody
	} {
		for _, name := range []string{"alice", "bob", "erin", "dave", ""} {
			err := tc.rule.Check(as(name), tc.scope, "do it")
			want := false
			for _, w := range tc.want {
				want = want || w == name
			}
			if (err == nil) != want {
				t.Errorf("%s (%s) for %q: got %v, want allowed=%v", tc.rule.Name(), tc.rule.Who(), name, err, want)
			}
			if err != nil && bot.KindOf(err) != bot.KindForbidden {
				t.Errorf("%s for %q: refused as %s, want forbidden", tc.rule.Name(), name, bot.KindOf(err))
			}
		}
		if err := tc.rule.Check(bot.SystemActor(), tc.scope, "do it"); err != nil {
			t.Errorf("%s refuses sectriage itself: %v", tc.rule.Name(), err)
		}
	}
	for _, r := range bot.Rules() {
		if !r.Defined() || r.Who() == "" {
			t.Errorf("rule %+v is unnamed or undocumented", r)
		}
	}
}
