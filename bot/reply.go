package bot

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
)

// EventReplied records a mail to the reporter. Its details hold the text
// sent, shown like a note: only in private channels.
const EventReplied = "replied"

// MaxReplyLength bounds a reply typed in chat.
const MaxReplyLength = 8000

// ReplyToReporter mails the reporter of an incident. The e-mail deliverer
// encrypts it to the reporter's key when one is known.
func (s *Service) ReplyToReporter(ctx context.Context, a Actor, rule Rule, id int64, text string) (Outcome, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Outcome{}, Errorf(KindInvalid, "The reply is empty.")
	}
	if len(text) > MaxReplyLength {
		return Outcome{}, Errorf(KindInvalid, "The reply is %d bytes long; the limit is %d.", len(text), MaxReplyLength)
	}
	if !s.Settings().ReporterMail {
		return Outcome{}, Errorf(KindInvalid, "Replies need an outgoing mail server: configure [email.smtp].")
	}
	return s.update(ctx, a, rule, "reply to its reporter", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		if addr, err := mail.ParseAddress(inc.Reporter); inc.Reporter == "" || err != nil || addr.Address != inc.Reporter {
			return false, Errorf(KindInvalid, "%s has no reporter address to reply to.", inc.Name())
		}
		ch.Events = append(ch.Events, s.event(a, EventReplied, text))
		var body Text
		body.Plain(text)
		ch.Outbox = append(ch.Outbox, OutboxMessage{
			Dest:         Destination{Platform: PlatformEmail, Address: inc.Reporter},
			Kind:         MessageMail,
			IncidentID:   inc.ID,
			Text:         body,
			Confidential: true,
		})
		var t Text
		t.Plain(fmt.Sprintf("%s: %s mailed the reporter.", inc.Name(), a.Name()))
		ch.Outbox = append(ch.Outbox, s.notices(st, a, inc, t)...)
		return true, nil
	})
}
