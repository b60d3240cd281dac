package email

import (
	"context"
	"fmt"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/header"
)

// deliverToMember mails a team member who asked to be notified by mail
// (notify = "email"): always encrypted to their own key, signed by the
// team, never with a reply token (their answer is no follow-up of a
// report).
func (m *Mailer) deliverToMember(ctx context.Context, msg bot.OutboxMessage) error {
	key := m.opts.MemberKeys[msg.Dest.Person]
	if key == nil {
		return bot.Permanent(fmt.Errorf("no key for %s ([[people]] key_file): mail to team members is never sent unencrypted", msg.Dest.Person))
	}
	needUTF8, err := header.Address(msg.Dest.Address)
	if err != nil {
		return bot.Permanent(fmt.Errorf("the address of %s: %w", msg.Dest.Person, err))
	}
	name := ""
	if msg.IncidentID != 0 {
		name = bot.FormatID(msg.IncidentID)
	}
	out, encrypted, err := composeMail(m.team, composeInput{
		From: m.opts.From, To: msg.Dest.Address, Incident: name, Body: bot.RenderPlain(msg.Text),
		Subject: "sectriage " + msg.Kind, Key: key, Now: m.opts.Now(),
	})
	if err != nil || !encrypted {
		return bot.Permanent(fmt.Errorf("composing mail to %s: encrypted %v: %v", msg.Dest.Person, encrypted, err))
	}
	if err := m.send(ctx, msg.Dest.Address, needUTF8, out); err != nil {
		return err
	}
	m.log.Info("mailed a team member", "person", msg.Dest.Person, "kind", msg.Kind, "incident", msg.IncidentID, "outbox", msg.ID)
	return nil
}
