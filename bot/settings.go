package bot

import (
	"strings"
	"time"
)

// SIG is a team responsible for a component, with its security contacts.
type SIG struct {
	Name     string
	Lead     string   // person name: may assign and change the roster
	Deputies []string // person names: take over when the on-duty contact is away
	Contacts []string // person names: everyone who may be assigned
	// Deadlines is this SIG's policy (the global one with the SIG's
	// overrides applied), or nil to use Settings.Deadlines.
	Deadlines *DeadlinePolicy
	// Rotation says who is on duty; nil: the lead always is.
	Rotation *Rotation
	// Route says which reports belong to this SIG.
	Route RouteRules
}

// HasContact reports whether name is one of the SIG's contacts, lead or deputies.
func (s *SIG) HasContact(name string) bool {
	if strings.EqualFold(s.Lead, name) {
		return true
	}
	for _, list := range [][]string{s.Contacts, s.Deputies} {
		for _, n := range list {
			if strings.EqualFold(n, name) {
				return true
			}
		}
	}
	return false
}

// Settings is what the configuration tells the domain: who is on the team,
// which SIGs exist, the deadlines, and where notices go. The service holds
// it behind an atomic pointer so a reload swaps it in one step.
type Settings struct {
	People     *People
	SIGs       []*SIG
	DefaultSIG string
	Deadlines  DeadlinePolicy
	// Platforms are the chat platforms that get notices and pings
	// (PlatformConsole, PlatformMattermost, PlatformIRC).
	Platforms []string
	// Bridge are the chat platforms whose incident channels are bridged:
	// what a person says in one incident channel is relayed to the
	// incident's channels on the others. Set when at least two platforms
	// make a channel per incident.
	Bridge []string
	// Location is the zone for times in shared messages (channel posts).
	Location *time.Location
	// Officers is the security officers' rotation, which picks each
	// incident's manager; nil: the first officer manages.
	Officers *Rotation
	// Escalation says when nags move up the chain; the zero value means
	// DefaultEscalation.
	Escalation EscalationPolicy
	// ReporterMail is set when an e-mail deliverer is configured, so
	// acknowledgements and replies can reach reporters.
	ReporterMail bool
	// NotifyReporter mails the reporter when their report reaches another
	// stage (received, confirmed, fixing, published, closed).
	NotifyReporter bool
	// Publication is what publishing an advisory requires ([publication]);
	// zero approvals means the default.
	Publication PublicationPolicy
}

// SIG finds a SIG by name (case-insensitive).
func (s *Settings) SIG(name string) *SIG {
	for _, sig := range s.SIGs {
		if strings.EqualFold(sig.Name, name) {
			return sig
		}
	}
	return nil
}

// SIGNames lists the SIG names in config order, for messages.
func (s *Settings) SIGNames() []string {
	names := make([]string, len(s.SIGs))
	for i, sig := range s.SIGs {
		names[i] = sig.Name
	}
	return names
}

// Policy returns the deadline policy for a SIG.
func (s *Settings) Policy(sig string) DeadlinePolicy {
	if g := s.SIG(sig); g != nil && g.Deadlines != nil {
		return *g.Deadlines
	}
	return s.Deadlines
}

func (s *Settings) location() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}
