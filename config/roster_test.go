package config

import (
	"strings"
	"testing"
	"time"
)

const rosterBase = `
[storage]
path = "x.db"

[[people]]
name = "alice"
role = "officer"

[[people]]
name = "Bob"
role = "member"

[[people]]
name = "erin"
role = "member"
`

func TestRosterConfig(t *testing.T) {
	src := rosterBase + `
[officers]
rotation = { every = "weekly", handoff = "Mon 09:00", members = ["alice"], start = "2026-01-05" }

[[sigs]]
name = "core"
default = true
lead = "bob"
deputies = ["erin"]
rotation = { every = "weekly", handoff = "mon 09:00", timezone = "Europe/Berlin", members = ["bob", "ERIN"], start = "2026-01-05" }
route = { keywords = ["sip"], regex = ["(?i)kamailio"], address = ["security+core@example.org"] }
deadlines = { embargo_warnings = ["3d"] }

[[sigs]]
name = "web"
lead = "erin"

[sigs.rotation]
every = "daily"
handoff = "17:30"
members = ["erin"]
start = "2026-02-01"

[escalation]
deputy_after = "2h"

[schedules]
reminders = ""
`
	cfg, err := Parse([]byte(src), "r.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := cfg.Settings(nil)
	if err != nil {
		t.Fatal(err)
	}
	core := st.SIG("core")
	if r := core.Rotation; r == nil || r.Location.String() != "Europe/Berlin" || strings.Join(r.Members, ",") != "Bob,erin" ||
		r.Weekday != time.Monday || r.Minute != 540 {
		t.Fatalf("core rotation = %+v", core.Rotation)
	}
	if r := st.SIG("web").Rotation; r == nil || r.Every != "daily" || r.Minute != 17*60+30 || r.Location != time.UTC {
		t.Fatalf("web rotation = %+v", r)
	}
	if len(core.Route.Regex) != 1 || core.Route.Keywords[0] != "sip" || len(core.Deadlines.EmbargoWarnings) != 1 {
		t.Fatalf("core route/deadlines = %+v / %+v", core.Route, core.Deadlines)
	}
	if st.Officers == nil || st.Officers.Members[0] != "alice" {
		t.Fatalf("officers = %+v", st.Officers)
	}
	if st.Escalation.DeputyAfter != 2*time.Hour || st.Escalation.OfficersAfter != 12*time.Hour {
		t.Fatalf("escalation = %+v", st.Escalation)
	}
	if cfg.Schedules.Sweep != "@every 5m" || cfg.Schedules.Reminders != "" {
		t.Fatalf("schedules = %+v", cfg.Schedules)
	}
}

func TestRosterConfigProblems(t *testing.T) {
	src := rosterBase + `
[officers]
rotation = { every = "weekly", handoff = "Mon 09:00", members = ["erin"], start = "2026-01-05" }

[[sigs]]
name = "core"
default = true
lead = "bob"
rotation = { every = "weekly", handoff = "Mon 09:00", timezone = "Europe/Nowhere", members = ["bob", "zed"], start = "5 Jan" }
route = { regex = ["(unclosed"], address = ["core"] }

[[sigs]]
name = "officers"
lead = "bob"

[sigs.rotation]
every = "monthly"
members = []

[escalation]
deputy_after = "1d"
officers_after = "4h"

[schedules]
sweep = "CRON_TZ=UTC"
digest = "0 25 * * *"
`
	cfg, err := Parse([]byte(src), "r.toml")
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`r.toml:18: officers.rotation.members[1]: "erin" is not an officer`,
		`r.toml:24: sigs[1].rotation.timezone: unknown time zone "Europe/Nowhere"`,
		`r.toml:24: sigs[1].rotation.members[2]: "zed" is not declared in [[people]]`,
		`r.toml:24: sigs[1].rotation.start: "5 Jan" is not a date`,
		`r.toml:25: sigs[1].route.regex[1]: bad regular expression: error parsing regexp: missing closing )`,
		`r.toml:25: sigs[1].route.address[1]: "core" is not an e-mail address`,
		`r.toml:28: sigs[2].name: "officers" is reserved`,
		`r.toml:32: sigs[2].rotation.every: must be weekly or daily, not "monthly"`,
		`r.toml:33: sigs[2].rotation.members: empty rotation`,
		`r.toml:31: sigs[2].rotation.start: required`,
		`r.toml:37: escalation.officers_after: is 4h, shorter than deputy_after (1d)`,
		`r.toml:40: schedules.sweep: bad schedule: "CRON_TZ=UTC" names a time zone but no schedule after it`,
		`r.toml:41: schedules.digest: bad schedule: "0 25 * * *": end of range (25) above maximum (23)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
}
