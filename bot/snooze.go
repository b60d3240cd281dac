package bot

import (
	"context"
	"fmt"
	"time"
)

// Snooze mutes the nags about an incident until until; a zero until ends
// the snooze. Any team member may snooze, for at most the escalation
// policy's MaxSnooze, so that nothing is silenced for good by accident.
func (s *Service) Snooze(ctx context.Context, a Actor, rule Rule, id int64, until time.Time) (Outcome, error) {
	if err := requirePerson(a, "snooze an incident"); err != nil {
		return Outcome{}, err
	}
	now := s.clock.Now()
	if !until.IsZero() {
		if !until.After(now) {
			return Outcome{}, Errorf(KindInvalid, "%s is not in the future.", FormatTime(until, a.Location()))
		}
		if limit := s.Settings().escalation().MaxSnooze; until.Sub(now) > limit {
			return Outcome{}, Errorf(KindInvalid, "Nags can be snoozed for at most %s (until %s); ask again then, or have an officer move the deadline with due.",
				FormatDuration(limit), FormatTime(now.Add(limit), a.Location()))
		}
	}
	// Not progress on the incident: the stale deadline keeps running.
	return s.change(ctx, a, rule, "snooze it", id, false, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if err := requireOpen(inc); err != nil {
			return false, err
		}
		active := inc.SnoozedUntil.After(now)
		if until.IsZero() && !active {
			return false, nil
		}
		inc.SnoozedUntil = until
		detail := "nags snoozed until " + FormatTime(until, time.UTC)
		notice := fmt.Sprintf("%s: %s snoozed its nags until %s.", inc.Name(), a.Name(), FormatTime(until, st.location()))
		if until.IsZero() {
			detail = "snooze ended"
			notice = fmt.Sprintf("%s: %s ended the snooze; nags resume.", inc.Name(), a.Name())
		}
		ch.Events = append(ch.Events, s.event(a, EventSnoozed, detail))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, PlainText(notice))...)
		return true, nil
	})
}
