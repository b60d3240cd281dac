package bot

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// NewIncident describes a report that becomes an incident.
type NewIncident struct {
	Title       string // untrusted: from the report's subject
	SIG         string // empty: the default SIG
	Severity    Severity
	Reporter    string
	ReporterKey string
	ReportID    int64
	Encrypted   bool
	// Detail, when set, is added to the "created" event (e.g. how the
	// report arrived and whether its signature was verified).
	Detail string
}

// MaxTitleLength bounds titles: a subject line, not a body.
const MaxTitleLength = 200

// OpenIncident creates an incident from a report, assigns it to the SIG's
// on-duty contact and the officers' on-duty manager, and queues the post
// to each platform and the pings to both people, in one transaction.
// Only sectriage itself opens incidents (intake), never a command.
func (s *Service) OpenIncident(ctx context.Context, a Actor, n NewIncident) (*Incident, error) {
	inc, err := s.openIncident(ctx, s.store, a, n)
	if err != nil {
		return nil, err
	}
	s.wake()
	return inc, nil
}

// incidentCreator is the one store method opening an incident needs:
// the store itself, or intake's transaction (see ReportTx).
type incidentCreator interface {
	CreateIncident(ctx context.Context, inc *Incident, build func(inc *Incident) Change) (*Incident, error)
}

// openIncident is OpenIncident writing through w, without waking the
// outbox: inside a transaction nothing is queued until it commits.
func (s *Service) openIncident(ctx context.Context, w incidentCreator, a Actor, n NewIncident) (*Incident, error) {
	if err := SystemOnly.Check(a, Scope{}, "open an incident"); err != nil {
		return nil, err
	}
	st := s.Settings()
	sig := st.SIG(n.SIG)
	if sig == nil {
		sig = st.SIG(st.DefaultSIG)
	}
	if sig == nil {
		return nil, Errorf(KindInternal, "no SIG %q and no default SIG", n.SIG)
	}
	title := strings.TrimSpace(strings.Join(strings.Fields(n.Title), " "))
	if title == "" {
		title = "(no subject)"
	}
	if r := []rune(title); len(r) > MaxTitleLength {
		title = string(r[:MaxTitleLength-1]) + "…"
	}
	if n.Severity == "" {
		n.Severity = SeverityUnknown
	}
	now := s.clock.Now()
	assignee, manager := s.onDuty(ctx, st, sig.Name, now)
	inc := &Incident{
		Title: title, SIG: sig.Name, Severity: n.Severity, State: StateNew,
		Assignee: assignee, Manager: manager,
		Reporter: n.Reporter, ReporterKey: n.ReporterKey, ReportID: n.ReportID, Encrypted: n.Encrypted,
		Created: now, Updated: now, StateSince: now, LastActivity: now,
	}
	st.Policy(sig.Name).Apply(inc)
	inc.SweepAt = now
	return w.CreateIncident(ctx, inc, func(inc *Incident) Change {
		ch := Change{Events: make([]Event, 0, 2), Outbox: make([]OutboxMessage, 0, len(st.Platforms)+2)}
		detail := "opened in SIG " + sig.Name
		if n.Detail != "" {
			detail += "; " + n.Detail
		}
		ch.Events = append(ch.Events, s.event(a, EventCreated, detail))
		if assignee != "" || manager != "" {
			ch.Events = append(ch.Events, s.event(SystemActor(), EventAssigned,
				"assignee "+orNobody(assignee)+" (on duty for SIG "+sig.Name+"), manager "+orNobody(manager)))
		}
		post := Announcement(inc, st.location())
		for _, p := range st.Platforms {
			ch.Outbox = append(ch.Outbox, OutboxMessage{
				Dest:         Destination{Platform: p, Channel: ChannelIncident},
				Kind:         MessageNewIncident,
				IncidentID:   inc.ID,
				Text:         post,
				Confidential: true,
			})
		}
		for _, who := range []struct{ name, role string }{{assignee, "assignee"}, {manager, "incident manager"}} {
			if who.name == "" || (who.role == "incident manager" && who.name == assignee) {
				continue
			}
			var ping Text
			ping.Mention(who.name).Plain(" you are the " + who.role + " of new incident ")
			ping.Append(summaryLine(inc))
			id := strconv.FormatInt(inc.ID, 10)
			ping.Plain(". Acknowledge by " + FormatTime(inc.Due, st.location()) + ": claim " + id + " or ack " + id + ".")
			for _, m := range s.pings(st, inc, who.name, MessagePing, "", ping) {
				m.Confidential = true
				ch.Outbox = append(ch.Outbox, m)
			}
		}
		stampMessages(ch.Outbox, now)
		return ch
	})
}

// Announcement is the post that introduces an incident to the team: the
// summary, who has it and the deadline. Adapters add the report body.
func Announcement(inc *Incident, loc *time.Location) Text {
	var t Text
	t.Plain("New incident ")
	t.Append(summaryLine(inc))
	// The plain text between the untrusted parts is written as one run
	// each (Text merges adjacent plain text by copying it): intake posts
	// one for every report.
	var b strings.Builder
	b.Grow(256)
	b.WriteString("\nAssignee: ")
	b.WriteString(orNobody(inc.Assignee))
	b.WriteString(" · Manager: ")
	b.WriteString(orNobody(inc.Manager))
	if !inc.Due.IsZero() {
		b.WriteString(" · ")
		b.WriteString(string(inc.DueKind))
		b.WriteString(" due ")
		b.WriteString(FormatTime(inc.Due, loc))
	}
	b.WriteString("\n")
	if inc.Reporter != "" {
		b.WriteString("Reporter: ")
		t.Plain(b.String())
		t.Untrusted(inc.Reporter)
		b.Reset()
		if inc.ReporterKey != "" {
			b.WriteString(" (key ")
			b.WriteString(inc.ReporterKey)
			b.WriteString(")")
		}
		b.WriteString("\n")
	}
	if !inc.Encrypted {
		b.WriteString("This report arrived UNENCRYPTED.\n")
	}
	id := strconv.FormatInt(inc.ID, 10)
	b.WriteString("Commands: claim ")
	b.WriteString(id)
	b.WriteString(" · ack ")
	b.WriteString(id)
	b.WriteString(" · show ")
	b.WriteString(id)
	t.Plain(b.String())
	return t
}

func orNobody(name string) string {
	if name == "" {
		return "nobody"
	}
	return name
}
