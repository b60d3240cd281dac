package bot

import (
	"fmt"
	"time"
)

// hasIdentity reports whether a person can be reached on a platform.
func hasIdentity(p *Person, platform string) bool {
	switch platform {
	case PlatformMattermost:
		return p.Mattermost != ""
	case PlatformIRC:
		return p.IRCAccount != ""
	case PlatformEmail:
		return p.Email != ""
	default:
		return true
	}
}

// personDests is where messages for one person go: each chat platform
// they are on, or only their mail address when they asked for mail
// (notify = "email"). Every message addressed to a person asks it.
func personDests(st *Settings, p *Person) []Destination {
	if p.Notify == NotifyEmail && p.Email != "" {
		return []Destination{{Platform: PlatformEmail, Person: p.Name, Address: p.Email}}
	}
	var out []Destination
	for _, platform := range st.Platforms {
		if hasIdentity(p, platform) {
			out = append(out, Destination{Platform: platform, Person: p.Name})
		}
	}
	return out
}

// notices tells the team on every chat platform about a change on an
// incident, except on the platform the actor used: they saw the reply.
// Notices name the incident but carry no report content.
func (s *Service) notices(settings *Settings, a Actor, inc *Incident, text Text) []OutboxMessage {
	var out []OutboxMessage
	for _, p := range settings.Platforms {
		if p == a.Platform {
			continue
		}
		out = append(out, OutboxMessage{
			Dest:       Destination{Platform: p, Channel: ChannelIncident},
			Kind:       MessageNotice,
			IncidentID: inc.ID,
			Text:       text,
		})
	}
	return out
}

// pings asks a person to act, on every platform where they have an
// identity. The adapter decides between a DM and a highlight in the
// incident's channel from the person's notify preference.
func (s *Service) pings(settings *Settings, inc *Incident, person, kind, dedupe string, text Text) []OutboxMessage {
	p := settings.People.ByName(person)
	if p == nil {
		return nil
	}
	var out []OutboxMessage
	for _, dest := range personDests(settings, p) {
		key := ""
		if dedupe != "" {
			key = fmt.Sprintf("%s|%s|%s", dedupe, dest.Platform, p.Name)
		}
		out = append(out, OutboxMessage{
			Dest:        dest,
			Kind:        kind,
			IncidentID:  inc.ID,
			Text:        text,
			DedupeKey:   key,
			NextAttempt: s.notBefore(p, inc),
		})
	}
	return out
}

// notBefore holds a ping back until the person's quiet hours end, unless
// the incident is critical; zero means at once.
func (s *Service) notBefore(p *Person, inc *Incident) time.Time {
	if inc.Severity == SeverityCritical {
		return time.Time{}
	}
	now := s.clock.Now()
	if end := quietEnd(p.QuietHours, now, p.Location); end.After(now) {
		return end
	}
	return time.Time{}
}

// summaryLine is the one-line description of an incident used in posts.
func summaryLine(inc *Incident) Text {
	var t Text
	// Concatenated, not formatted: every new incident's posts and pings
	// carry it (intake's hot path).
	t.Plain(inc.Name() + " [" + string(inc.Severity) + ", " + string(inc.State) + ", SIG " + inc.SIG + "] ")
	t.Untrusted(inc.Title)
	return t
}
