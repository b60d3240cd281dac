package config

import (
	"time"

	"github.com/sectriage/sectriage/bot"
)

// people builds the directory of declared people.
func (c *Config) people() (*bot.People, error) {
	list := make([]bot.Person, 0, len(c.People))
	for _, p := range c.People {
		loc := time.UTC
		if p.Timezone != "" {
			if l, err := time.LoadLocation(p.Timezone); err == nil {
				loc = l
			}
		}
		quiet, _ := bot.ParseQuietHours(p.QuietHours)
		list = append(list, bot.Person{
			Name: p.Name, Role: bot.Role(p.Role), Mattermost: p.Mattermost, IRCAccount: p.IRCAccount,
			Email: p.Email, Location: loc, QuietHours: quiet, Notify: p.Notify,
		})
	}
	return bot.NewPeople(list)
}

// Policy is the global deadline policy.
func (c *Config) Policy() bot.DeadlinePolicy {
	d := c.Deadlines
	p := bot.DeadlinePolicy{
		Acknowledge: d.Acknowledge.Duration,
		Triage:      d.Triage.Duration,
		Fix: map[bot.Severity]time.Duration{
			bot.SeverityCritical: d.Fix.Critical.Duration,
			bot.SeverityHigh:     d.Fix.High.Duration,
			bot.SeverityMedium:   d.Fix.Medium.Duration,
			bot.SeverityLow:      d.Fix.Low.Duration,
			bot.SeverityUnknown:  d.Fix.Unknown.Duration,
		},
		Stale:      d.Stale.Duration,
		EmbargoMax: d.EmbargoMax.Duration,
	}
	for _, w := range d.EmbargoWarnings {
		p.EmbargoWarnings = append(p.EmbargoWarnings, w.Duration)
	}
	return p
}

// apply lays a SIG's overrides over the global policy.
func (o DeadlineOverrides) apply(p bot.DeadlinePolicy) *bot.DeadlinePolicy {
	fix := make(map[bot.Severity]time.Duration, len(p.Fix))
	for k, v := range p.Fix {
		fix[k] = v
	}
	p.Fix = fix
	set := func(dst *time.Duration, v *Duration) {
		if v != nil {
			*dst = v.Duration
		}
	}
	set(&p.Acknowledge, o.Acknowledge)
	set(&p.Triage, o.Triage)
	set(&p.Stale, o.Stale)
	if o.EmbargoWarnings != nil {
		p.EmbargoWarnings = nil
		for _, w := range o.EmbargoWarnings {
			p.EmbargoWarnings = append(p.EmbargoWarnings, w.Duration)
		}
	}
	for sev, v := range map[bot.Severity]*Duration{
		bot.SeverityCritical: o.Fix.Critical, bot.SeverityHigh: o.Fix.High, bot.SeverityMedium: o.Fix.Medium,
		bot.SeverityLow: o.Fix.Low, bot.SeverityUnknown: o.Fix.Unknown,
	} {
		if v != nil {
			p.Fix[sev] = v.Duration
		}
	}
	return &p
}

// Settings builds what the domain needs from a validated config. platforms
// are the chat platforms that will be running.
func (c *Config) Settings(platforms []string) (*bot.Settings, error) {
	people, err := c.people()
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, err
	}
	policy := c.Policy()
	st := &bot.Settings{
		People: people, DefaultSIG: c.DefaultSIG(), Deadlines: policy,
		Platforms: platforms, Location: loc,
		ReporterMail: c.Email.SMTP != nil, NotifyReporter: c.Intake.NotifyReporter, Publication: c.publicationPolicy(),
	}
	for _, p := range platforms {
		if p == bot.PlatformIRC && c.IRCEnabled() && c.IRC.ChannelPerIncident ||
			p == bot.PlatformMattermost && c.Mattermost.Enabled() && c.Mattermost.ChannelPerIncident {
			st.Bridge = append(st.Bridge, p)
		}
	}
	if len(st.Bridge) < 2 {
		st.Bridge = nil
	}
	for _, g := range c.SIGs {
		st.SIGs = append(st.SIGs, &bot.SIG{
			Name: g.Name, Lead: g.Lead, Deputies: g.Deputies, Contacts: g.Contacts,
			Deadlines: g.Deadlines.apply(policy),
		})
	}
	if err := c.rosterSettings(st); err != nil {
		return nil, err
	}
	return st, nil
}
