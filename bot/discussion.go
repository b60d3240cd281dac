package bot

import (
	"context"
	"strings"
	"unicode/utf8"
)

// EventDiscussion is a message said in one of an incident's own channels
// (its IRC channel, its Mattermost channel), kept in the timeline so the
// record holds the discussion, whichever chat it happened in. Its details
// are "platform-side text" written by the team: shown only in private
// replies, sealed at rest like every event's details.
const EventDiscussion = "discussion"

// MaxDiscussionLength bounds one recorded message; longer ones are kept
// cut, with a mark.
const MaxDiscussionLength = 8000

// Discuss records what a team member said in an incident's channel. Only
// declared people are recorded: a channel with anyone else in it fails
// the privacy rule, and the officers hear of it from there.
func (s *Service) Discuss(ctx context.Context, a Actor, id int64, text string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	if len(text) > MaxDiscussionLength {
		cut := MaxDiscussionLength
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + " [cut: the message was longer]"
	}
	_, err := s.update(ctx, a, Member, "take part in the discussion", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		ch.Events = append(ch.Events, s.event(a, EventDiscussion, text))
		return true, nil
	})
	return err
}

// Discussion returns the incident's discussion, oldest first.
func Discussion(events []Event) []Event {
	var out []Event
	for _, ev := range events {
		if ev.Kind == EventDiscussion {
			out = append(out, ev)
		}
	}
	return out
}
