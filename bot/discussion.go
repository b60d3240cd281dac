package bot

import (
	"context"
	"slices"
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

// Said is one message of an incident's channel.
type Said struct {
	Text string
	// Thread: a reply in a thread (Mattermost), relayed as such.
	Thread bool
	// Edited, Deleted: a change to an earlier message.
	Edited, Deleted bool
	// Relay: the channel it was said in passes the privacy rule now, so it
	// may be relayed to the incident's channels on the other platforms
	// (Settings.Bridge). An outsider in the channel stops the relay.
	Relay bool
}

// how is what the relayed line says about the message.
func (m Said) how() string {
	switch {
	case m.Deleted:
		return ", deleted a message"
	case m.Edited && m.Thread:
		return ", edited, in a thread"
	case m.Edited:
		return ", edited"
	case m.Thread:
		return ", in a thread"
	}
	return ""
}

// Discuss records what a team member said in an incident's channel and,
// when the channels are bridged, relays it to the incident's channels on
// the other platforms as "name (platform): text", in the same
// transaction. Only declared people are recorded and relayed: a channel
// with anyone else in it fails the privacy rule, and the officers hear of
// it from there. The bot's own messages never come here, so a relayed
// line is never relayed back.
func (s *Service) Discuss(ctx context.Context, a Actor, id int64, said Said) error {
	if strings.TrimSpace(said.Text) == "" && !said.Deleted {
		return nil
	}
	text := said.Text
	if said.Deleted {
		text = "(deleted a message)"
	} else if h := said.how(); h != "" {
		text = "(" + strings.TrimPrefix(h, ", ") + ") " + text
	}
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
		if !said.Relay || !slices.Contains(st.Bridge, a.Platform) {
			return true, nil
		}
		relayed := relayText(a, said)
		for _, p := range st.Bridge {
			if p == a.Platform {
				continue
			}
			ch.Outbox = append(ch.Outbox, OutboxMessage{
				Dest: Destination{Platform: p, Channel: ChannelIncident}, Kind: MessageRelay,
				IncidentID: inc.ID, Text: relayed, Confidential: true,
			})
		}
		return true, nil
	})
	return err
}

// Relay limits: a chat message is relayed whole up to these; the record
// keeps all of it.
const (
	maxRelayLines = 8
	maxRelayBytes = 1500
)

// relayText is "name (platform): text", every line of the text untrusted
// (each platform neutralises mentions, markup and control codes), cut to
// a few lines so one paste cannot flood the other side.
func relayText(a Actor, said Said) Text {
	var t Text
	t.Plain(a.Name() + " (" + a.Platform + said.how() + ")")
	if said.Deleted {
		return t
	}
	t.Plain(": ")
	lines := strings.Split(strings.ReplaceAll(strings.TrimSpace(said.Text), "\r\n", "\n"), "\n")
	size, cut := 0, false
	for i, l := range lines {
		if i == maxRelayLines || size+len(l) > maxRelayBytes {
			if room := maxRelayBytes - size; i < maxRelayLines && room > 0 {
				for room > 0 && !utf8.RuneStart(l[room]) {
					room--
				}
				if i > 0 {
					t.Line().Plain("  ")
				}
				t.Untrusted(l[:room])
			}
			cut = true
			break
		}
		if i > 0 {
			t.Line().Plain("  ")
		}
		t.Untrusted(l)
		size += len(l)
	}
	if cut {
		t.Plain(" [cut; the whole message is in the record]")
	}
	return t
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
