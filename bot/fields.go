package bot

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SeverityChange is a validated severity: a level, or a level derived from
// a CVSS vector's base score.
type SeverityChange struct {
	Level  Severity
	Vector string // empty when set by level
	Score  float64
}

// SetSeverity changes the severity; the fix deadline follows.
func (s *Service) SetSeverity(ctx context.Context, a Actor, rule Rule, id int64, c SeverityChange) (Outcome, error) {
	return s.update(ctx, a, rule, "set its severity", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if err := requireOpen(inc); err != nil {
			return false, err
		}
		if inc.Severity == c.Level && inc.CVSS == c.Vector {
			return false, nil
		}
		before := inc.Severity
		inc.Severity, inc.CVSS, inc.Score = c.Level, c.Vector, c.Score
		detail := fmt.Sprintf("%s → %s", before, c.Level)
		if c.Vector != "" {
			detail += fmt.Sprintf(" (%s, score %.1f)", c.Vector, c.Score)
		}
		ch.Events = append(ch.Events, s.event(a, EventSeverity, detail))
		var t Text
		t.Plain(fmt.Sprintf("%s: severity %s, set by %s.", inc.Name(), detail, a.Name()))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		return true, nil
	})
}

var cveRE = regexp.MustCompile(`^CVE-(\d{4})-(\d{4,19})$`)

// ParseCVE validates a CVE id (CVE-YYYY-NNNN, four or more digits, no
// leading zeros beyond four digits as the CVE numbering rules require).
func ParseCVE(s string) (string, error) {
	id := strings.ToUpper(strings.TrimSpace(s))
	m := cveRE.FindStringSubmatch(id)
	if m == nil {
		return "", Errorf(KindInvalid, "%q is not a CVE id; write CVE-2026-12345 (year, then at least four digits).", s)
	}
	year, _ := strconv.Atoi(m[1])
	if year < 1999 {
		return "", Errorf(KindInvalid, "%s: CVE years start at 1999.", id)
	}
	if len(m[2]) > 4 && m[2][0] == '0' {
		return "", Errorf(KindInvalid, "%s: a sequence number longer than four digits cannot start with 0.", id)
	}
	return id, nil
}

// AddCVE records a CVE id on the incident; remove takes it off again.
func (s *Service) AddCVE(ctx context.Context, a Actor, rule Rule, id int64, cve string, remove bool) (Outcome, error) {
	return s.update(ctx, a, rule, "record its CVE ids", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		has := inc.HasCVE(cve)
		if has != remove {
			return false, nil // already as asked
		}
		verb := "added"
		if remove {
			verb = "removed"
			kept := inc.CVEs[:0]
			for _, c := range inc.CVEs {
				if c != cve {
					kept = append(kept, c)
				}
			}
			inc.CVEs = kept
		} else {
			inc.CVEs = append(inc.CVEs, cve)
		}
		ch.Events = append(ch.Events, s.event(a, EventCVE, cve+" "+verb))
		var t Text
		t.Plain(fmt.Sprintf("%s: %s %s by %s.", inc.Name(), cve, verb, a.Name()))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		return true, nil
	})
}

// SetEmbargo sets when the embargo lifts; a zero time clears it.
func (s *Service) SetEmbargo(ctx context.Context, a Actor, rule Rule, id int64, until time.Time) (Outcome, error) {
	now := s.clock.Now()
	if !until.IsZero() && !until.After(now) {
		return Outcome{}, Errorf(KindInvalid, "The embargo end %s is in the past.", FormatTime(until, a.Location()))
	}
	return s.update(ctx, a, rule, "set its embargo", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if err := requireOpen(inc); err != nil {
			return false, err
		}
		if inc.Embargo.Equal(until) {
			return false, nil
		}
		inc.Embargo = until
		detail := "cleared"
		if !until.IsZero() {
			detail = "until " + FormatTime(until, time.UTC)
		}
		ch.Events = append(ch.Events, s.event(a, EventEmbargo, detail))
		var t Text
		t.Plain(fmt.Sprintf("%s: embargo %s (set by %s).", inc.Name(), detail, a.Name()))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		return true, nil
	})
}

// SetDue overrides one deadline by hand; a zero time returns it to the
// policy (officers: the commands pass Officer).
func (s *Service) SetDue(ctx context.Context, a Actor, rule Rule, id int64, kind DeadlineKind, at time.Time) (Outcome, error) {
	return s.update(ctx, a, rule, "override a deadline", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if err := requireOpen(inc); err != nil {
			return false, err
		}
		policy := st.Policy(inc.SIG)
		if kind == "" {
			if inc.DueKind == "" {
				return false, Errorf(KindConflict, "%s has no deadline running in state %s.", inc.Name(), inc.State)
			}
			kind = inc.DueKind
		}
		if kind == DeadlineEmbargo {
			return false, Errorf(KindInvalid, "The embargo date is set with: embargo %d <date>.", inc.ID)
		}
		if !policy.Applies(inc, kind) {
			return false, Errorf(KindConflict, "No %s deadline runs while %s is in %s.", kind, inc.Name(), inc.State)
		}
		if at.IsZero() {
			if _, ok := inc.DueOverrides[kind]; !ok {
				return false, nil
			}
			delete(inc.DueOverrides, kind)
		} else {
			if inc.DueOverrides == nil {
				inc.DueOverrides = map[DeadlineKind]time.Time{}
			}
			inc.DueOverrides[kind] = at
		}
		detail := fmt.Sprintf("%s deadline reset to the policy", kind)
		if !at.IsZero() {
			detail = fmt.Sprintf("%s deadline set to %s", kind, FormatTime(at, time.UTC))
		}
		ch.Events = append(ch.Events, s.event(a, EventDue, detail))
		var t Text
		t.Plain(fmt.Sprintf("%s: %s by %s.", inc.Name(), detail, a.Name()))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		return true, nil
	})
}

// MaxNoteLength bounds timeline notes: a note is a remark, not a report.
const MaxNoteLength = 4000

// AddNote appends a remark to the timeline.
func (s *Service) AddNote(ctx context.Context, a Actor, rule Rule, id int64, note string) (Outcome, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return Outcome{}, Errorf(KindInvalid, "The note is empty.")
	}
	if len(note) > MaxNoteLength {
		return Outcome{}, Errorf(KindInvalid, "The note is %d bytes long; the limit is %d.", len(note), MaxNoteLength)
	}
	return s.update(ctx, a, rule, "add a note", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		ch.Events = append(ch.Events, s.event(a, EventNote, note))
		var t Text
		t.Plain(fmt.Sprintf("%s: note from %s: ", inc.Name(), a.Name())).Untrusted(note)
		for _, m := range s.notices(st, a, inc, t) {
			m.Confidential = true // notes discuss the report
			ch.Outbox = append(ch.Outbox, m)
		}
		return true, nil
	})
}

// Route moves an incident to another SIG and hands it to that SIG's
// on-duty contact. The commands pass RouteRule: routing reassigns, so it
// is no way to take over an incident someone else claimed.
func (s *Service) Route(ctx context.Context, a Actor, rule Rule, id int64, sig string) (Outcome, error) {
	return s.update(ctx, a, rule, "route it", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if err := requireOpen(inc); err != nil {
			return false, err
		}
		g := st.SIG(sig)
		if g == nil {
			return false, Errorf(KindNotFound, "There is no SIG %q; SIGs: %s.", sig, strings.Join(st.SIGNames(), ", "))
		}
		if inc.SIG == g.Name {
			return false, nil
		}
		from := inc.SIG
		inc.SIG = g.Name
		assignee, _ := s.onDuty(ctx, st, g.Name, s.clock.Now())
		inc.Assignee, inc.Claimed = assignee, false
		detail := fmt.Sprintf("SIG %s → %s", from, g.Name)
		if assignee != "" {
			detail += "; assigned to the on-duty contact " + assignee
		}
		ch.Events = append(ch.Events, s.event(a, EventRouted, detail))
		var t Text
		t.Plain(fmt.Sprintf("%s: %s by %s.", inc.Name(), detail, a.Name()))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		if assignee != "" {
			var ping Text
			ping.Mention(assignee).Plain(fmt.Sprintf(" %s was routed to SIG %s and you are on duty: it is yours. ", inc.Name(), g.Name))
			ping.Append(summaryLine(inc))
			for _, m := range s.pings(st, inc, assignee, MessagePing, "", ping) {
				m.Confidential = true
				ch.Outbox = append(ch.Outbox, m)
			}
		}
		return true, nil
	})
}
