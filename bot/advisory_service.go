package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Advisory events. Their details hold field names, people and times, but
// a draft's text is confidential until published, so they show only in
// private channels (they are not in publicKinds).
const (
	EventAdvisory  = "advisory"  // the draft changed
	EventApproved  = "approved"  // a review approval
	EventScheduled = "scheduled" // publication scheduled
	EventPublished = "published" // the advisory was published
	EventDistros   = "distros"   // the draft went to the distros list
)

// DistrosMaxEmbargo is the longest embargo the linux-distros list accepts.
const DistrosMaxEmbargo = 14 * 24 * time.Hour

// PublishWarnings are when the incident manager hears about a scheduled
// publication ahead of it.
var PublishWarnings = []time.Duration{24 * time.Hour, time.Hour}

// AdvisoryOutcome is the result of an advisory change.
type AdvisoryOutcome struct {
	Incident *Incident
	Record   *AdvisoryRecord
	Changed  bool
	Reset    []Approval   // approvals an edit withdrew
	Approved []ReviewKind // kinds an approval added
	// ReporterTold is set when publishing queued the reporter's mail.
	ReporterTold bool
}

// publicationPolicy is the configured policy, or the default.
func (st *Settings) publicationPolicy() PublicationPolicy {
	p := st.Publication
	if p.Approvals == 0 {
		p.Approvals = DefaultPublicationPolicy().Approvals
	}
	return p
}

// PublicationPolicy returns the policy publication checks against.
func (s *Service) PublicationPolicy() PublicationPolicy { return s.Settings().publicationPolicy() }

// AdvisoryDraft returns an incident and its advisory (a fresh draft when
// none was stored), for team members.
func (s *Service) AdvisoryDraft(ctx context.Context, a Actor, id int64) (*Incident, *AdvisoryRecord, error) {
	if err := requireMember(a); err != nil {
		return nil, nil, err
	}
	st, err := s.advisories()
	if err != nil {
		return nil, nil, err
	}
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	rec, err := st.AdvisoryRecord(ctx, id)
	if KindOf(err) == KindNotFound {
		return inc, &AdvisoryRecord{Draft: NewAdvisory(inc)}, nil
	}
	return inc, rec, err
}

// advisoryMutation changes the incident and its advisory record (copies).
type advisoryMutation func(st *Settings, inc *Incident, rec *AdvisoryRecord, ch *Change) (changed bool, err error)

// updateAdvisory is update for advisories: the rule's check against the
// incident as the transaction read it, then the change, the deadline
// recomputation, the events and the notices, all in one transaction.
func (s *Service) updateAdvisory(ctx context.Context, a Actor, rule Rule, what string, id int64, fn advisoryMutation) (AdvisoryOutcome, error) {
	if err := rule.Precheck(a, what); err != nil {
		return AdvisoryOutcome{}, err
	}
	store, err := s.advisories()
	if err != nil {
		return AdvisoryOutcome{}, err
	}
	settings := s.Settings()
	var out AdvisoryOutcome
	inc, rec, err := store.UpdateAdvisory(ctx, id, func(inc *Incident, rec *AdvisoryRecord) (Change, error) {
		if err := s.authorize(ctx, settings, a, rule, inc, what); err != nil {
			return Change{}, err
		}
		before := inc.State
		var ch Change
		changed, err := fn(settings, inc, rec, &ch)
		if err != nil {
			return Change{}, err
		}
		if !changed {
			out.Incident, out.Record = inc.Clone(), rec
			return Change{}, errNoChange
		}
		out.Changed = true
		now := s.clock.Now()
		inc.Updated = now
		if a.Person != nil {
			inc.LastActivity = now
		}
		if inc.State != before {
			inc.StateSince = now
		}
		settings.Policy(inc.SIG).Apply(inc)
		for i := range ch.Events {
			ch.Events[i].IncidentID = inc.ID
		}
		stampMessages(ch.Outbox, now)
		return ch, nil
	})
	if errors.Is(err, errNoChange) {
		return out, nil
	}
	if err != nil {
		return AdvisoryOutcome{}, err
	}
	out.Incident, out.Record = inc, rec
	s.wake()
	return out, nil
}

// EditAdvisory applies change to the draft; what names the change for the
// timeline ("set title"). Any change withdraws every approval (Edit).
func (s *Service) EditAdvisory(ctx context.Context, a Actor, rule Rule, id int64, what string, change func(*Advisory) error) (AdvisoryOutcome, error) {
	var reset []Approval
	out, err := s.updateAdvisory(ctx, a, rule, "edit its advisory", id, func(st *Settings, inc *Incident, rec *AdvisoryRecord, ch *Change) (bool, error) {
		editor := ""
		if a.Person != nil {
			editor = a.Person.Name
		}
		next, res, err := rec.Draft.Edit(editor, change)
		if err != nil || !res.Changed {
			return false, err
		}
		if rec.IsPublished() {
			// The pages and records change at the next publication run.
			next.Modified = s.clock.Now()
		}
		rec.Draft, rec.Stored, reset = next, true, res.Reset
		detail := what
		if len(res.Reset) > 0 {
			detail += fmt.Sprintf("; %d approval(s) withdrawn", len(res.Reset))
		}
		ch.Events = append(ch.Events, s.event(a, EventAdvisory, detail))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, PlainText(fmt.Sprintf("%s: %s edited the advisory (%s).", inc.Name(), a.Name(), detail)))...)
		return true, nil
	})
	out.Reset = reset
	return out, err
}

// ApproveAdvisory records a's approval of kind ("" for both).
func (s *Service) ApproveAdvisory(ctx context.Context, a Actor, rule Rule, id int64, kind ReviewKind) (AdvisoryOutcome, error) {
	var added []ReviewKind
	out, err := s.updateAdvisory(ctx, a, rule, "approve its advisory", id, func(st *Settings, inc *Incident, rec *AdvisoryRecord, ch *Change) (bool, error) {
		var err error
		if added, err = rec.Draft.Approve(a.Person, kind, s.clock.Now()); err != nil {
			return false, err
		}
		rec.Stored = true
		kinds := make([]string, len(added))
		for i, k := range added {
			kinds[i] = string(k)
		}
		role := "member"
		if a.Person.IsOfficer() {
			role = "officer"
		}
		detail := fmt.Sprintf("%s (%s)", strings.Join(kinds, " and "), role)
		ch.Events = append(ch.Events, s.event(a, EventApproved, detail))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, PlainText(fmt.Sprintf("%s: %s approved the advisory's %s.", inc.Name(), a.Name(), detail)))...)
		return true, nil
	})
	out.Approved = added
	return out, err
}

// ScheduleAdvisory schedules publication at at, or at the embargo's end
// when at is zero. The sweep reminds the manager ahead of it
// (PublicationReminders) and runs it when due.
func (s *Service) ScheduleAdvisory(ctx context.Context, a Actor, rule Rule, id int64, at time.Time) (AdvisoryOutcome, error) {
	return s.updateAdvisory(ctx, a, rule, "schedule its publication", id, func(st *Settings, inc *Incident, rec *AdvisoryRecord, ch *Change) (bool, error) {
		now := s.clock.Now()
		if rec.IsPublished() {
			return false, Errorf(KindConflict, "%s's advisory was published on %s.", inc.Name(), FormatTime(rec.Draft.Published, st.Location))
		}
		when := at
		if when.IsZero() {
			if inc.Embargo.IsZero() {
				return false, Errorf(KindInvalid, "%s has no embargo; say when: publish %d at <when>.", inc.Name(), inc.ID)
			}
			when = inc.Embargo
		}
		if !when.After(now) {
			return false, Errorf(KindInvalid, "%s is not in the future; to publish at once, run publish %d now.", FormatTime(when, st.Location), inc.ID)
		}
		if !inc.State.Open() {
			return false, Errorf(KindConflict, "%s is %s.", inc.Name(), inc.State)
		}
		if rec.PublishAt.Equal(when) {
			return false, nil
		}
		rec.PublishAt, rec.ScheduledBy, rec.Stored = when, a.Name(), true
		ch.Events = append(ch.Events, s.event(a, EventScheduled, FormatTime(when, time.UTC)))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, PlainText(fmt.Sprintf("%s: %s scheduled the advisory's publication for %s.",
			inc.Name(), a.Name(), FormatTime(when, st.Location))))...)
		return true, nil
	})
}

func missingText(a Advisory, p PublicationPolicy) string {
	m := a.Missing(p)
	if len(m) == 0 {
		return "nothing"
	}
	return strings.Join(m, "; ")
}

// PublishAdvisory marks the advisory published, if nothing is missing:
// it gets its public id and date, the incident moves to disclosed, the
// reporter is told (with the link and their credit) and, when the distros
// list had the draft, the team is reminded to post to oss-security. On an
// advisory already published it changes nothing, so the publication run
// can go again after a fix. The files and mail are the publication run's.
func (s *Service) PublishAdvisory(ctx context.Context, a Actor, rule Rule, id int64) (AdvisoryOutcome, error) {
	told := false
	out, err := s.updateAdvisory(ctx, a, rule, "publish its advisory", id, func(st *Settings, inc *Incident, rec *AdvisoryRecord, ch *Change) (bool, error) {
		p := st.publicationPolicy()
		if missing := rec.Draft.Missing(p); len(missing) > 0 {
			return false, Errorf(KindConflict, "%s's advisory cannot be published yet; missing: %s.", inc.Name(), strings.Join(missing, "; "))
		}
		now := s.clock.Now()
		if rec.IsPublished() {
			return false, nil
		}
		if inc.State != StateFixing && inc.State != StateDisclosed {
			return false, Errorf(KindConflict, "%s is %s; publish once it is confirmed (fixing).", inc.Name(), inc.State)
		}
		rec.Draft.ID = fmt.Sprintf("%d-%d", now.UTC().Year(), inc.ID)
		rec.Draft.Published, rec.Draft.Modified = now, now
		rec.PublishAt, rec.Stored = time.Time{}, true
		link := p.BaseURL + "/advisories/" + rec.Draft.ID + ".html"
		ch.Events = append(ch.Events, s.event(a, EventPublished, rec.Draft.ID+" "+link))
		if inc.State == StateFixing {
			from := inc.State
			inc.State = StateDisclosed
			s.stateChanged(st, a, inc, from, ActionDisclose, "advisory "+rec.Draft.ID, ch)
		}
		if st.ReporterMail && plainAddress(inc.Reporter) {
			ch.Outbox = append(ch.Outbox, OutboxMessage{
				Dest: Destination{Platform: PlatformEmail, Address: inc.Reporter}, Kind: MessageMail,
				IncidentID: inc.ID, Text: PlainText(reporterNotice(rec.Draft, link)), Confidential: true,
				DedupeKey: fmt.Sprintf("published|%d", inc.ID),
			})
			told = true
		}
		var t Text
		t.Plain(fmt.Sprintf("%s: %s published advisory %s: %s", inc.Name(), a.Name(), rec.Draft.ID, link))
		if !rec.DistrosNotified.IsZero() {
			t.Plain(fmt.Sprintf(" Reminder: the distros list had the draft on %s; its policy requires posting the advisory to oss-security@lists.openwall.com now.",
				FormatTime(rec.DistrosNotified, st.Location)))
		}
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		return true, nil
	})
	out.ReporterTold = told
	return out, err
}

// reporterNotice tells the reporter where the advisory is and how they
// are credited.
func reporterNotice(d Advisory, link string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The advisory for the vulnerability you reported is published: %s\n", link)
	if len(d.CVEs) > 0 {
		fmt.Fprintf(&b, "CVE: %s\n", strings.Join(d.CVEs, ", "))
	}
	if c := d.PublishedCredits(); len(c) > 0 {
		b.WriteString("\nCredited:\n")
		for _, cr := range c {
			fmt.Fprintf(&b, "  %s (%s)\n", cr.Name, cr.Type)
		}
	} else {
		b.WriteString("\nNobody is credited by name in it.\n")
	}
	b.WriteString("\nThank you for reporting it.\n")
	return b.String()
}

// CheckDistros says whether the draft may go to the distros list now: the
// embargo must end within DistrosMaxEmbargo, and it must not be published.
// The rule is checked first, as RecordDistros will check it again.
func (s *Service) CheckDistros(ctx context.Context, a Actor, rule Rule, id int64) (*Incident, *AdvisoryRecord, error) {
	const what = "notify the distros list"
	if err := rule.Precheck(a, what); err != nil {
		return nil, nil, err
	}
	inc, rec, err := s.AdvisoryDraft(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	st := s.Settings()
	if err := s.authorize(ctx, st, a, rule, inc, what); err != nil {
		return nil, nil, err
	}
	return inc, rec, distrosAllowed(st, inc, rec, s.clock.Now())
}

func distrosAllowed(st *Settings, inc *Incident, rec *AdvisoryRecord, now time.Time) error {
	if st.publicationPolicy().DistrosList == "" {
		return Errorf(KindInvalid, "No distros list is configured ([publication] distros_list).")
	}
	if rec.IsPublished() {
		return Errorf(KindConflict, "%s's advisory is already public.", inc.Name())
	}
	if inc.Embargo.IsZero() {
		return Errorf(KindInvalid, "%s has no embargo; the distros list takes only issues with a set public date within 14 days (set one with embargo %d <date>).", inc.Name(), inc.ID)
	}
	if left := inc.Embargo.Sub(now); left > DistrosMaxEmbargo {
		return Errorf(KindInvalid, "%s's embargo ends %s, more than 14 days from now; the distros list accepts at most 14 days. Notify it from %s on.",
			inc.Name(), FormatTime(inc.Embargo, st.Location), FormatTime(inc.Embargo.Add(-DistrosMaxEmbargo), st.Location))
	}
	if !inc.Embargo.After(now) {
		return Errorf(KindInvalid, "%s's embargo has ended; publish instead.", inc.Name())
	}
	return nil
}

// RecordDistros records that the draft was sent to the distros list.
func (s *Service) RecordDistros(ctx context.Context, a Actor, rule Rule, id int64, list string) (AdvisoryOutcome, error) {
	return s.updateAdvisory(ctx, a, rule, "notify the distros list", id, func(st *Settings, inc *Incident, rec *AdvisoryRecord, ch *Change) (bool, error) {
		now := s.clock.Now()
		if err := distrosAllowed(st, inc, rec, now); err != nil {
			return false, err
		}
		rec.DistrosNotified, rec.Stored = now, true
		ch.Events = append(ch.Events, s.event(a, EventDistros, "draft sent encrypted to "+list))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, PlainText(fmt.Sprintf(
			"%s: %s sent the advisory draft to %s. At publication the list's policy requires posting it to oss-security.", inc.Name(), a.Name(), list)))...)
		return true, nil
	})
}

// DuePublications lists the incidents whose scheduled publication is due.
func (s *Service) DuePublications(ctx context.Context) ([]int64, error) {
	st, err := s.advisories()
	if err != nil {
		return nil, err
	}
	return st.DueAdvisories(ctx, s.clock.Now())
}

// PublishedAdvisories returns every published advisory, for the pages.
func (s *Service) PublishedAdvisories(ctx context.Context) ([]Advisory, error) {
	st, err := s.advisories()
	if err != nil {
		return nil, err
	}
	return st.PublishedAdvisories(ctx)
}

// MarkAnnounced records that the announcement of id reached address.
func (s *Service) MarkAnnounced(ctx context.Context, id int64, address string) error {
	st, err := s.advisories()
	if err != nil {
		return err
	}
	return st.MarkAnnounced(ctx, id, address)
}

// Announced reports whether address already had the announcement.
func (r *AdvisoryRecord) HasAnnounced(address string) bool {
	return slices.Contains(r.Announced, address)
}

func plainAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return s != "" && at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " <>\"\r\n")
}

// PublicationTrouble tells the incident's channel and pings its manager
// that a scheduled publication could not run, or that an output of a
// publication failed, and clears the schedule so the sweep does not try
// again every time: the team fixes it and runs publish now.
func (s *Service) PublicationTrouble(ctx context.Context, id int64, problem string) error {
	a := SystemActor()
	_, err := s.updateAdvisory(ctx, a, SystemOnly, "report a publication problem", id, func(st *Settings, inc *Incident, rec *AdvisoryRecord, ch *Change) (bool, error) {
		rec.PublishAt, rec.Stored = time.Time{}, true
		text := fmt.Sprintf("%s: publication trouble: %s Fix it and run publish %d now.", inc.Name(), problem, inc.ID)
		ch.Events = append(ch.Events, s.event(a, EventPublished, "failed: "+problem))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, PlainText(text))...)
		ch.Outbox = append(ch.Outbox, s.pings(st, inc, inc.Manager, MessagePing, "", PlainText(text))...)
		return true, nil
	})
	return err
}
