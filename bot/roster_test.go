package bot_test

import (
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// team: officers alice and carol (rotation weekly Mon 09:00 UTC), SIG core
// (bob and erin weekly Mon 09:00 Berlin, deputies dave then erin, lead
// bob), SIG web without rotation (lead dave). bob keeps quiet hours.
func rosterSettings(t testing.TB) *bot.Settings {
	t.Helper()
	berlin := mustLoad(t, "Europe/Berlin")
	people, err := bot.NewPeople([]bot.Person{
		{Name: "alice", Role: bot.RoleOfficer},
		{Name: "carol", Role: bot.RoleOfficer},
		{Name: "bob", Role: bot.RoleMember, Location: berlin, QuietHours: bot.QuietHours{Start: 22 * 60, End: 7 * 60}},
		{Name: "erin", Role: bot.RoleMember},
		{Name: "dave", Role: bot.RoleMember},
	})
	if err != nil {
		t.Fatal(err)
	}
	monday := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	return &bot.Settings{
		People: people,
		SIGs: []*bot.SIG{
			{Name: "core", Lead: "bob", Deputies: []string{"dave", "erin"}, Contacts: []string{"bob", "erin", "dave"},
				Rotation: &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Minute: 540, Location: berlin,
					Members: []string{"bob", "erin"}, Start: monday}},
			{Name: "web", Lead: "dave", Contacts: []string{"dave"}},
		},
		DefaultSIG: "core",
		Deadlines:  bot.DefaultDeadlines(),
		Platforms:  []string{bot.PlatformConsole},
		Officers: &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Minute: 540,
			Members: []string{"alice", "carol"}, Start: monday},
	}
}

func TestOnDutyAt(t *testing.T) {
	st := rosterSettings(t)
	week1 := utc("2026-11-04 12:00") // bob's week in core, alice's for the officers
	rs := &bot.RosterState{Overrides: []*bot.Override{
		{ID: 1, Kind: bot.OverrideCover, SIG: "core", Person: "dave", From: utc("2026-11-05 00:00"), Until: utc("2026-11-06 00:00")},
		{ID: 2, Kind: bot.OverrideCover, SIG: "core", Person: "erin", From: utc("2026-11-05 12:00"), Until: utc("2026-11-05 18:00")},
		{ID: 3, Kind: bot.OverrideAway, Person: "bob", From: utc("2026-11-06 00:00"), Until: utc("2026-11-08 00:00")},
		{ID: 4, Kind: bot.OverrideAway, Person: "dave", From: utc("2026-11-07 00:00"), Until: utc("2026-11-08 00:00")},
		{ID: 5, Kind: bot.OverrideAway, Person: "alice", From: utc("2026-11-07 00:00"), Until: utc("2026-11-08 00:00")},
	}}
	for _, tc := range []struct {
		team, at, want, source string
	}{
		{"core", "2026-11-04 12:00", "bob", bot.SourceRotation},
		{"core", "2026-11-05 06:00", "dave", bot.SourceCover},
		{"core", "2026-11-05 13:00", "erin", bot.SourceCover}, // the newer cover wins
		{"core", "2026-11-05 19:00", "dave", bot.SourceCover},
		{"core", "2026-11-06 12:00", "dave", bot.SourceRotation}, // bob away: first deputy
		{"core", "2026-11-07 12:00", "erin", bot.SourceRotation}, // dave away too: next deputy
		{"core", "2026-11-09 08:00", "erin", bot.SourceRotation}, // hand-off Mon 09:00 CET
		{"web", "2026-11-04 12:00", "dave", bot.SourceLead},
		// web's lead is away and it has no deputy: the officers' on-duty,
		// who is carol while alice is away.
		{"web", "2026-11-07 12:00", "carol", bot.SourceLead},
		{"officers", "2026-11-04 12:00", "alice", bot.SourceRotation},
		{"officers", "2026-11-07 12:00", "carol", bot.SourceRotation},
		{"officers", "2026-11-09 09:00", "carol", bot.SourceRotation},
		{"nosuch", "2026-11-04 12:00", "", bot.SourceNobody},
	} {
		d := bot.OnDutyAt(st, rs, tc.team, utc(tc.at))
		if d.Person != tc.want || d.Source != tc.source {
			t.Errorf("%s at %s: %s (%s), want %s (%s)", tc.team, tc.at, d.Person, d.Source, tc.want, tc.source)
		}
	}
	if d := bot.OnDutyAt(st, rs, "core", utc("2026-11-06 12:00")); d.Base != "bob" || d.Away == nil || d.Away.ID != 3 {
		t.Errorf("stand-in should name whom it replaces: %+v", d)
	}
	at, next := bot.NextChange(st, rs, "core", week1)
	if !at.Equal(utc("2026-11-05 00:00")) || next.Person != "dave" {
		t.Errorf("next change after %v: %v to %s", week1, at, next.Person)
	}
	at, next = bot.NextChange(st, nil, "core", week1)
	if !at.Equal(utc("2026-11-09 08:00")) || next.Person != "erin" {
		t.Errorf("next hand-off after %v: %v to %s", week1, at, next.Person)
	}
}

func TestLeadFollowsAcceptedHandover(t *testing.T) {
	st := rosterSettings(t)
	core := st.SIG("core")
	rs := &bot.RosterState{Handovers: []*bot.Handover{
		{ID: 1, SIG: "core", From: "bob", To: "erin", ConfigLead: "bob", Accepted: utc("2026-11-03 10:00")},
		{ID: 2, SIG: "core", From: "erin", To: "dave", ConfigLead: "bob"}, // pending: changes nothing yet
	}}
	if got := rs.Lead(core); got != "erin" {
		t.Errorf("lead = %s, want erin", got)
	}
	if h := rs.PendingHandover("CORE"); h == nil || h.To != "dave" {
		t.Errorf("pending = %+v", h)
	}
	core.Lead = "dave" // the operator changed the config since: it wins
	if got := rs.Lead(core); got != "dave" {
		t.Errorf("lead after config change = %s, want dave", got)
	}
}

func TestRoute(t *testing.T) {
	st := rosterSettings(t)
	st.SIGs[0].Route = bot.RouteRules{Keywords: []string{"SIP", "parser"}, Addresses: []string{"security+core@example.org"}}
	st.SIGs[1].Route = bot.RouteRules{Keywords: []string{"xss"}, Addresses: []string{"security+web@example.org"}}
	for _, tc := range []struct {
		facts bot.ReportFacts
		want  string
	}{
		{bot.ReportFacts{Subject: "XSS in the admin page"}, "web"},
		{bot.ReportFacts{Subject: "gossip protocol bug"}, "core"}, // default: "sip" is not a word here
		{bot.ReportFacts{Subject: "crash", Body: "the sip parser overflows"}, "core"},
		{bot.ReportFacts{Subject: "SIP crash", Recipients: []string{"Security+Web@example.org"}}, "web"}, // address first
		{bot.ReportFacts{Subject: "Stored XSS", Body: "parser"}, "web"},                                  // subject before body
	} {
		if got, why := st.Route(tc.facts); got != tc.want {
			t.Errorf("Route(%+v) = %s (%s), want %s", tc.facts, got, why, tc.want)
		}
	}
}
