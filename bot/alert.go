package bot

import (
	"context"
	"fmt"
)

// AlertOfficers tells every security officer, on every platform where
// they can be reached, that something needs them: a channel that is not
// private, a message that could not be delivered. key deduplicates: the
// same alert is sent once per key, so a condition seen on every sweep does
// not flood anyone. The alert text must carry no report content.
func (s *Service) AlertOfficers(ctx context.Context, key string, text Text) error {
	st := s.Settings()
	now := s.clock.Now()
	var msgs []OutboxMessage
	for _, officer := range st.People.Officers() {
		for _, dest := range personDests(st, officer) {
			m := OutboxMessage{
				Dest: dest,
				Kind: MessageAlert,
				Text: text,
			}
			if key != "" {
				m.DedupeKey = fmt.Sprintf("alert|%s|%s|%s", key, dest.Platform, officer.Name)
			}
			msgs = append(msgs, m)
		}
	}
	stampMessages(msgs, now)
	if len(msgs) == 0 {
		s.log.Error("alert for the officers, but none can be reached on any platform", "key", key)
		return nil
	}
	if err := s.store.Enqueue(ctx, msgs); err != nil {
		return fmt.Errorf("queueing alert: %w", err)
	}
	s.wake()
	return nil
}
