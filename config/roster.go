package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/schedule"
)

// RotationConfig is a rotation: `rotation = { every = "weekly", handoff =
// "Mon 09:00", timezone = "Europe/Berlin", members = ["bob", "erin"],
// start = "2026-01-05" }`.
type RotationConfig struct {
	Every    string   `toml:"every"`    // weekly or daily
	Handoff  string   `toml:"handoff"`  // "Mon 09:00" (weekly) or "09:00" (daily)
	Timezone string   `toml:"timezone"` // of the hand-off; default: the top-level timezone
	Members  []string `toml:"members"`  // in duty order
	Start    string   `toml:"start"`    // YYYY-MM-DD: members[0] takes over at the first hand-off from then
}

// RouteConfig is a SIG's routing rules.
type RouteConfig struct {
	Keywords []string `toml:"keywords"` // whole words in the subject or body, any case
	Regex    []string `toml:"regex"`    // Go regular expressions on the subject or body
	Address  []string `toml:"address"`  // recipient addresses, e.g. security+core@example.org
}

// OfficersConfig is the [officers] section: the incident managers' rotation.
type OfficersConfig struct {
	Rotation *RotationConfig `toml:"rotation"`
}

// EscalationConfig is the [escalation] section.
type EscalationConfig struct {
	DeputyAfter   Duration `toml:"deputy_after"`
	OfficersAfter Duration `toml:"officers_after"`
	Repeat        Duration `toml:"repeat"`
	MaxSnooze     Duration `toml:"max_snooze"`
}

// SchedulesConfig is the [schedules] section: robfig/cron specs.
type SchedulesConfig struct {
	Sweep     string `toml:"sweep"`     // the escalation sweep; required
	Reminders string `toml:"reminders"` // personal reminders; empty: off
	Digest    string `toml:"digest"`    // the digest in the triage channel; empty: off
}

func defaultEscalation() EscalationConfig {
	e := bot.DefaultEscalation()
	return EscalationConfig{DeputyAfter: Duration{e.DeputyAfter}, OfficersAfter: Duration{e.OfficersAfter},
		Repeat: Duration{e.Repeat}, MaxSnooze: Duration{e.MaxSnooze}}
}

func defaultSchedules() SchedulesConfig {
	return SchedulesConfig{Sweep: "@every 5m", Reminders: "CRON_TZ=UTC 0 9 * * MON-FRI", Digest: "CRON_TZ=UTC 0 8 * * *"}
}

// rotation checks a rotation and builds it; members are given the names
// they are declared with. It adds a problem for everything wrong.
func (c *Config) rotation(s *problemSink, key string, r *RotationConfig, officersOnly bool) *bot.Rotation {
	n := len(s.list)
	out := &bot.Rotation{Every: r.Every}
	switch r.Every {
	case bot.RotationWeekly, bot.RotationDaily:
		wd, m, err := bot.ParseHandoff(r.Every, r.Handoff)
		if err != nil {
			s.add(key+".handoff", "%v", err)
		}
		out.Weekday, out.Minute = wd, m
	case "":
		s.add(key+".every", "required: weekly or daily")
	default:
		s.add(key+".every", "must be weekly or daily, not %q", r.Every)
	}
	zone := r.Timezone
	if zone == "" {
		zone = c.Timezone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		s.add(key+".timezone", "unknown time zone %q (use an IANA name such as Europe/Berlin or UTC)", zone)
	}
	out.Location = loc
	if len(r.Members) == 0 {
		s.add(key+".members", "empty rotation: list at least one person, in duty order")
	}
	for j, m := range r.Members {
		p := c.declared(m)
		switch {
		case p == nil:
			s.add(fmt.Sprintf("%s.members[%d]", key, j+1), "%q is not declared in [[people]]", m)
		case officersOnly && p.Role != string(bot.RoleOfficer):
			s.add(fmt.Sprintf("%s.members[%d]", key, j+1), "%q is not an officer: incident managers must have role = \"officer\"", m)
		default:
			out.Members = append(out.Members, p.Name)
		}
	}
	if r.Start == "" {
		s.add(key+".start", "required: the date (YYYY-MM-DD) the first member's shift starts")
	} else if start, err := time.Parse(time.DateOnly, r.Start); err != nil {
		s.add(key+".start", "%q is not a date; write YYYY-MM-DD, e.g. 2026-01-05", r.Start)
	} else {
		out.Start = start
	}
	if len(s.list) > n {
		return nil
	}
	return out
}

// declared finds a declared person by name, ignoring case.
func (c *Config) declared(name string) *PersonConfig {
	for i := range c.People {
		if strings.EqualFold(c.People[i].Name, name) {
			return &c.People[i]
		}
	}
	return nil
}

// route checks and compiles a SIG's routing rules.
func (c *Config) route(s *problemSink, key string, r RouteConfig) bot.RouteRules {
	var out bot.RouteRules
	for j, k := range r.Keywords {
		if strings.TrimSpace(k) == "" {
			s.add(fmt.Sprintf("%s.keywords[%d]", key, j+1), "empty keyword")
			continue
		}
		out.Keywords = append(out.Keywords, strings.TrimSpace(k))
	}
	for j, expr := range r.Regex {
		re, err := regexp.Compile(expr)
		if err != nil {
			s.add(fmt.Sprintf("%s.regex[%d]", key, j+1), "bad regular expression: %v", err)
			continue
		}
		out.Regex = append(out.Regex, re)
	}
	for j, a := range r.Address {
		if !strings.Contains(a, "@") || strings.ContainsAny(a, " <>") {
			s.add(fmt.Sprintf("%s.address[%d]", key, j+1), "%q is not an e-mail address (e.g. security+core@example.org)", a)
			continue
		}
		out.Addresses = append(out.Addresses, strings.TrimSpace(a))
	}
	return out
}

// validateRoster checks what the roster and the scheduler use: rotations,
// routing rules, escalation timeouts and cron schedules.
func (c *Config) validateRoster(s *problemSink) {
	for i, g := range c.SIGs {
		key := fmt.Sprintf("sigs[%d]", i+1)
		if strings.EqualFold(g.Name, bot.Officers) {
			s.add(key+".name", "%q is reserved for the officers' rotation ([officers])", g.Name)
		}
		if g.Rotation != nil {
			c.rotation(s, key+".rotation", g.Rotation, false)
		}
		c.route(s, key+".route", g.Route)
		for j, w := range g.Deadlines.EmbargoWarnings {
			if w.Duration <= 0 {
				s.add(fmt.Sprintf("%s.deadlines.embargo_warnings[%d]", key, j+1), "must be a positive duration such as 7d")
			}
		}
	}
	if c.Officers.Rotation != nil {
		c.rotation(s, "officers.rotation", c.Officers.Rotation, true)
	}
	e := c.Escalation
	for key, v := range map[string]Duration{"escalation.deputy_after": e.DeputyAfter, "escalation.officers_after": e.OfficersAfter,
		"escalation.repeat": e.Repeat, "escalation.max_snooze": e.MaxSnooze} {
		if v.Duration <= 0 {
			s.add(key, "must be a positive duration such as 4h or 1d")
		}
	}
	if e.OfficersAfter.Duration < e.DeputyAfter.Duration {
		s.add("escalation.officers_after", "is %s, shorter than deputy_after (%s): the officers come last in the chain",
			bot.FormatDuration(e.OfficersAfter.Duration), bot.FormatDuration(e.DeputyAfter.Duration))
	}
	if e.Repeat.Duration > 0 && e.Repeat.Duration < time.Hour {
		s.add("escalation.repeat", "is %s: asking the same person more than once an hour is noise; use 1h or more",
			bot.FormatDuration(e.Repeat.Duration))
	}
	for _, sc := range []struct {
		key, spec string
		required  bool
	}{{"schedules.sweep", c.Schedules.Sweep, true}, {"schedules.reminders", c.Schedules.Reminders, false}, {"schedules.digest", c.Schedules.Digest, false}} {
		if strings.TrimSpace(sc.spec) == "" {
			if sc.required {
				s.add(sc.key, "required: without the sweep nobody is nagged or escalated to (e.g. \"@every 5m\")")
			}
			continue
		}
		if _, err := schedule.Parse(sc.spec); err != nil {
			s.add(sc.key, "bad schedule: %v", err)
		}
	}
}

// rosterSettings adds rotations, routing and escalation to settings built
// from a validated config.
func (c *Config) rosterSettings(st *bot.Settings) error {
	s := &problemSink{file: c.file, loc: c.loc}
	for i, g := range c.SIGs {
		sig := st.SIG(g.Name)
		key := fmt.Sprintf("sigs[%d]", i+1)
		if g.Rotation != nil {
			sig.Rotation = c.rotation(s, key+".rotation", g.Rotation, false)
		}
		sig.Route = c.route(s, key+".route", g.Route)
	}
	if c.Officers.Rotation != nil {
		st.Officers = c.rotation(s, "officers.rotation", c.Officers.Rotation, true)
	}
	e := c.Escalation
	st.Escalation = bot.EscalationPolicy{DeputyAfter: e.DeputyAfter.Duration, OfficersAfter: e.OfficersAfter.Duration,
		Repeat: e.Repeat.Duration, MaxSnooze: e.MaxSnooze.Duration}
	if len(s.list) > 0 {
		return s.list
	}
	return nil
}
