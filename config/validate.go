package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

var (
	nameRE       = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.\-]{0,63}$`)
	mmUserRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9._\-]{0,63}$`)
	ircAccountRE = regexp.MustCompile(`^[A-Za-z\[\]\\` + "`" + `_^{|}][A-Za-z0-9\[\]\\` + "`" + `_^{|}\-]{0,49}$`)
)

// Validate checks everything that decoding cannot: required values, names
// that refer to declared people, time zones, durations. It returns every
// problem at once.
func (c *Config) Validate() error {
	s := &problemSink{file: c.file, loc: c.loc}
	if strings.TrimSpace(c.Storage.Path) == "" {
		s.add("storage.path", "required: the SQLite database file")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		s.add("timezone", "unknown time zone %q (use an IANA name such as Europe/Berlin or UTC)", c.Timezone)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		s.add("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		s.add("log.format", "must be text or json, not %q", c.Log.Format)
	}
	c.validatePeople(s)
	c.validateSIGs(s)
	c.validateDeadlines(s)
	c.validateRoster(s)
	c.validateServer(s)
	c.validateMattermost(s)
	c.validateIRC(s)
	c.validateIntake(s)
	c.validateEmail(s)
	c.validateSecurityTxt(s)
	c.validatePublication(s)
	c.validateRetiredKeys(s)
	if len(s.list) > 0 {
		return s.list
	}
	return nil
}

func (c *Config) validatePeople(s *problemSink) {
	if len(c.People) == 0 {
		s.add("people", "declare at least one person with [[people]]; anyone not declared is an outsider")
	}
	officers := 0
	seen := map[string]int{}
	for i, p := range c.People {
		key := fmt.Sprintf("people[%d]", i+1)
		if p.Name == "" {
			s.add(key+".name", "required")
		} else if !nameRE.MatchString(p.Name) {
			s.add(key+".name", "%q: use letters, digits, '.', '_' or '-', starting with a letter", p.Name)
		} else if prev, dup := seen[strings.ToLower(p.Name)]; dup {
			s.add(key+".name", "%q is already declared by people[%d]", p.Name, prev)
		} else {
			seen[strings.ToLower(p.Name)] = i + 1
		}
		switch bot.Role(p.Role) {
		case bot.RoleOfficer:
			officers++
		case bot.RoleMember:
		case "":
			s.add(key+".role", "required: officer or member")
		default:
			s.add(key+".role", "must be officer or member, not %q", p.Role)
		}
		if p.Mattermost != "" && !mmUserRE.MatchString(strings.TrimPrefix(p.Mattermost, "@")) {
			s.add(key+".mattermost", "%q is not a Mattermost username (lower-case letters, digits, '.', '_', '-')", p.Mattermost)
		}
		if p.IRCAccount != "" && !ircAccountRE.MatchString(p.IRCAccount) {
			s.add(key+".irc_account", "%q is not a services account name", p.IRCAccount)
		}
		if p.Email != "" && (!strings.Contains(p.Email, "@") || strings.ContainsAny(p.Email, " <>")) {
			s.add(key+".email", "%q is not an e-mail address", p.Email)
		}
		if p.Timezone != "" {
			if _, err := time.LoadLocation(p.Timezone); err != nil {
				s.add(key+".timezone", "unknown time zone %q (use an IANA name such as Europe/Berlin)", p.Timezone)
			}
		}
		if _, err := bot.ParseQuietHours(p.QuietHours); err != nil {
			s.add(key+".quiet_hours", "%v", err)
		}
		switch p.Notify {
		case "", bot.NotifyDM, bot.NotifyChannel:
		case bot.NotifyEmail:
			// Mail to a team member names incidents and may carry titles:
			// only ever encrypted to their own key, sent by [email.smtp].
			if p.Email == "" {
				s.add(key+".email", "required with notify = \"email\"")
			}
			if p.KeyFile == "" {
				s.add(key+".key_file", "required with notify = \"email\": their mail is encrypted to this public key (gpg --export --armor ADDRESS > FILE)")
			}
			if c.Email.SMTP == nil {
				s.add(key+".notify", "\"email\" needs [email.smtp] to send it")
			}
		default:
			s.add(key+".notify", "must be dm, channel or email, not %q", p.Notify)
		}
	}
	if len(c.People) > 0 && officers == 0 {
		s.add("people", "at least one person needs role = \"officer\": officers manage incidents and receive escalations")
	}
	if _, err := c.people(); err != nil && len(s.list) == 0 {
		s.add("people", "%v", err)
	}
}

// person checks that a name refers to a declared person.
func (c *Config) checkPerson(s *problemSink, key, name string) {
	for _, p := range c.People {
		if strings.EqualFold(p.Name, name) {
			return
		}
	}
	s.add(key, "%q is not declared in [[people]]", name)
}

func (c *Config) validateSIGs(s *problemSink) {
	if len(c.SIGs) == 0 {
		s.add("sigs", "declare at least one SIG with [[sigs]]: incidents need a team to belong to")
		return
	}
	defaults := 0
	seen := map[string]bool{}
	for i, g := range c.SIGs {
		key := fmt.Sprintf("sigs[%d]", i+1)
		if g.Name == "" {
			s.add(key+".name", "required")
		} else if !nameRE.MatchString(g.Name) {
			s.add(key+".name", "%q: use letters, digits, '.', '_' or '-', starting with a letter", g.Name)
		} else if seen[strings.ToLower(g.Name)] {
			s.add(key+".name", "SIG %q is declared twice", g.Name)
		}
		seen[strings.ToLower(g.Name)] = true
		if g.Default {
			defaults++
		}
		if g.Lead == "" {
			s.add(key+".lead", "required: the person who may assign and change the roster")
		} else {
			c.checkPerson(s, key+".lead", g.Lead)
		}
		for j, d := range g.Deputies {
			c.checkPerson(s, fmt.Sprintf("%s.deputies[%d]", key, j+1), d)
		}
		for j, d := range g.Contacts {
			c.checkPerson(s, fmt.Sprintf("%s.contacts[%d]", key, j+1), d)
		}
	}
	if defaults > 1 {
		s.add("sigs", "%d SIGs have default = true; only one may take what no routing rule matches", defaults)
	}
	if defaults == 0 && len(c.SIGs) > 1 {
		s.add("sigs", "mark one SIG with default = true: it takes reports no routing rule matches")
	}
}

func (c *Config) validateDeadlines(s *problemSink) {
	d := c.Deadlines
	for key, v := range map[string]Duration{
		"deadlines.acknowledge": d.Acknowledge, "deadlines.triage": d.Triage, "deadlines.stale": d.Stale,
		"deadlines.fix.critical": d.Fix.Critical, "deadlines.fix.high": d.Fix.High,
		"deadlines.fix.medium": d.Fix.Medium, "deadlines.fix.low": d.Fix.Low, "deadlines.fix.unknown": d.Fix.Unknown,
		"deadlines.embargo_max": d.EmbargoMax,
	} {
		if v.Duration <= 0 {
			s.add(key, "must be a positive duration such as 48h or 5d")
		}
	}
}

// DefaultSIG is the SIG that takes unrouted reports.
func (c *Config) DefaultSIG() string {
	for _, g := range c.SIGs {
		if g.Default {
			return g.Name
		}
	}
	if len(c.SIGs) > 0 {
		return c.SIGs[0].Name
	}
	return ""
}
