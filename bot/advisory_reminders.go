package bot

import (
	"context"
	"fmt"
	"time"
)

// TopicPublish is the nag topic of the reminders before a scheduled
// publication.
const TopicPublish = "publish-warning"

// StepPublish is the reminder of a scheduled publication.
const StepPublish NagStep = "publish"

// PublicationReminders pings each scheduled advisory's incident manager
// once the publication is less than 24 h, then less than 1 h, away
// (PublishWarnings). It plans from the schedule as stored now, so a
// rescheduled or already published advisory gets no stale reminder, and
// the nag keys (incident, topic, the warning's moment, person) make each
// reminder go out once, however often the sweep runs.
func (d *Duty) PublicationReminders(ctx context.Context) (int, error) {
	st, err := d.svc.advisories()
	if err != nil {
		return 0, err
	}
	now := d.svc.clock.Now()
	settings := d.svc.Settings()
	ids, err := st.DueAdvisories(ctx, now.Add(PublishWarnings[0]))
	if err != nil {
		return 0, fmt.Errorf("publication reminders: %w", err)
	}
	var records []NagRecord
	for _, id := range ids {
		rec, err := st.AdvisoryRecord(ctx, id)
		if err != nil {
			return 0, err
		}
		inc, err := d.svc.store.Incident(ctx, id)
		if err != nil {
			return 0, err
		}
		at := rec.PublishAt
		if rec.IsPublished() || at.IsZero() || !now.Before(at) || inc.Manager == "" {
			continue
		}
		// The latest warning time passed: a schedule made 30 minutes
		// ahead gets the 1 h reminder only.
		var warn time.Time
		for _, w := range PublishWarnings {
			if t := at.Add(-w); !now.Before(t) && t.After(warn) {
				warn = t
			}
		}
		if warn.IsZero() {
			continue
		}
		text := PlainText(fmt.Sprintf("%s: the advisory is scheduled for publication at %s, in %s. Still missing: %s.",
			inc.Name(), FormatTime(at, settings.Location), FormatDuration(at.Sub(now).Round(time.Minute)),
			missingText(rec.Draft, settings.publicationPolicy())))
		r := NagRecord{Key: NagKey{Subject: id, Topic: TopicPublish, Period: warn.UnixMilli(), Person: inc.Manager},
			Step: StepPublish, IncidentID: id, At: now,
			Outbox: d.svc.pings(settings, inc, inc.Manager, MessagePing, "", text)}
		stampMessages(r.Outbox, now)
		records = append(records, r)
	}
	if len(records) == 0 {
		return 0, nil
	}
	n, err := d.store.RecordNags(ctx, records)
	if err != nil {
		return 0, fmt.Errorf("publication reminders: %w", err)
	}
	if n > 0 {
		d.svc.wake()
	}
	return n, nil
}
