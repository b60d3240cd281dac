package email_test

import (
	"context"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/dovecot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// TestFollowUpThreadsOverIMAP: replies made by GnuPG arrive through the
// real IMAP server. Rita's signed report becomes SEC-1 and is
// acknowledged; her signed reply (In-Reply-To the acknowledgement) and a
// mail to the acknowledgement's reply address join SEC-1, shown by `show`
// and announced with the assignee pinged; a stranger's "Re: [SEC-1]"
// answering the same mail, and Rita's unsigned reply to her signed report,
// open incidents of their own that note the claim, linked both ways.
func TestFollowUpThreadsOverIMAP(t *testing.T) {
	ctx := context.Background()
	srv := dovecot.Start(t, dovecot.Options{Mailboxes: []string{"Processed", "Quarantine"}})
	f := newGPGFixture(t)
	p := newPipeline(t, f.team, pipelineOptions{known: f.known, reporterMail: true})
	_, stop := runIMAP(t, email.IMAPOptions{
		Address: srv.Addr, TLS: "none", Username: srv.Username, Password: srv.Password,
		DoneMailbox: "Processed", QuarantineMailbox: "Quarantine", PollInterval: time.Second,
		MaxMessageBytes: 1 << 20, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	}, p.in)
	defer stop()
	to := []*gpgtest.Key{f.teamG}
	rita := "Rita Reporter <reporter@example.net>"
	handled := 0
	deliver := func(raw []byte) {
		t.Helper()
		srv.Deliver(t, raw)
		handled++
		srv.WaitMessages(t, "Processed", 15*time.Second, func(ms []dovecot.MessageInfo) bool { return len(ms) == handled })
	}

	deliver(f.g.PGPMIME(t, gpgtest.Mail{From: rita, Subject: "SQL injection in search", Body: "CANARY-REPORT\n"}, to,
		gpgtest.MIMEOptions{SignWith: f.reporter}))
	if inc := p.incident(t, 1); inc.Reporter != "reporter@example.net" {
		t.Fatalf("SEC-1: %+v", inc)
	}
	if _, err := p.svc.Assign(ctx, bot.SystemActor(), bot.SystemOnly, 1, "bob"); err != nil {
		t.Fatal(err)
	}
	ackID, replyTo := acknowledge(t, p, f)

	// Rita answers the acknowledgement, signed as her report was.
	deliver(f.g.PGPMIME(t, gpgtest.Mail{From: rita, Subject: "Re: [SEC-1] Your report to the security team",
		InReplyTo: ackID, Body: "CANARY-FOLLOW-REPLY: also in /admin/search\n"}, to, gpgtest.MIMEOptions{SignWith: f.reporter}))
	// Someone with the reply address (Rita, from her phone), unsigned.
	deliver(f.g.PGPMIME(t, gpgtest.Mail{From: "Rita <rita.mobile@example.com>", To: replyTo, Subject: "one more thing",
		Body: "CANARY-FOLLOW-TOKEN: version 5.8 too\n"}, to, gpgtest.MIMEOptions{}))
	// A stranger claims SEC-1 by subject and In-Reply-To.
	deliver(f.g.PGPMIME(t, gpgtest.Mail{From: "Sam <sam@example.com>", Subject: "Re: [SEC-1] Your report to the security team",
		InReplyTo: ackID, Body: "CANARY-STRANGER\n"}, to, gpgtest.MIMEOptions{SignWith: f.unknown}))
	// Rita's address, but not her key, although her report was signed.
	deliver(f.g.PGPMIME(t, gpgtest.Mail{From: rita, Subject: "Re: SQL injection in search", InReplyTo: ackID,
		Body: "CANARY-UNSIGNED\n"}, to, gpgtest.MIMEOptions{}))

	if n, _ := p.db.CountIncidents(ctx, bot.IncidentFilter{}); n != 3 {
		t.Fatalf("%d incidents, want 3: SEC-1 and the two claims", n)
	}
	body := p.body(t, 1)
	for _, want := range []string{"CANARY-REPORT", "Follow-up 1", "CANARY-FOLLOW-REPLY", "in-reply-to", "Follow-up 2", "CANARY-FOLLOW-TOKEN", "reply-address"} {
		if !strings.Contains(body, want) {
			t.Errorf("SEC-1's report lacks %q:\n%s", want, body)
		}
	}
	for _, not := range []string{"CANARY-STRANGER", "CANARY-UNSIGNED"} {
		if strings.Contains(body, not) {
			t.Errorf("SEC-1 shows %s", not)
		}
	}
	if b := p.body(t, 2); !strings.Contains(b, "CANARY-STRANGER") {
		t.Errorf("SEC-2: %s", b)
	}
	_, ev2, _ := p.svc.Timeline(ctx, bot.SystemActor(), 2)
	if d := ev2[0].Details; !strings.Contains(d, "claims to belong to an incident") || !strings.Contains(d, "answers a mail of SEC-1, but it is not from the reporter's address") {
		t.Errorf("SEC-2 does not note the claim: %s", d)
	}
	_, ev3, _ := p.svc.Timeline(ctx, bot.SystemActor(), 3)
	if d := ev3[0].Details; !strings.Contains(d, "the report was signed by key") {
		t.Errorf("SEC-3 does not say why Rita's unsigned reply is not a follow-up: %s", d)
	}
	_, ev1, _ := p.svc.Timeline(ctx, bot.SystemActor(), 1)
	var follows, claims int
	for _, ev := range ev1 {
		switch ev.Kind {
		case bot.EventFollowUp:
			follows++
		case bot.EventClaim:
			claims++
		}
	}
	if follows != 2 || claims != 2 {
		t.Errorf("SEC-1's timeline: %d follow-ups, %d claims, want 2 and 2: %+v", follows, claims, ev1)
	}
	// Announced in the incident's channel, and bob pinged, twice.
	msgs, err := p.db.DueMessages(ctx, t0.Add(1e12), 1000)
	if err != nil {
		t.Fatal(err)
	}
	// The notice quotes the follow-up and is confidential (delivered only
	// where report content may go); nothing else queued holds content.
	var notices, pings int
	for _, m := range msgs {
		text := bot.RenderPlain(m.Text)
		notice := m.IncidentID == 1 && m.Kind == bot.MessageNotice && m.Dest.Channel == bot.ChannelIncident && strings.Contains(text, "follow-up")
		if m.IncidentID == 1 && strings.Contains(text, "follow-up") {
			switch {
			case notice:
				notices++
				if !m.Confidential || !strings.Contains(text, "CANARY-FOLLOW-") {
					t.Errorf("the follow-up notice does not quote it as confidential (%v): %s", m.Confidential, text)
				}
			case m.Kind == bot.MessagePing && m.Dest.Person == "bob":
				pings++
			}
		}
		if !notice && strings.Contains(text, "CANARY") {
			t.Errorf("a queued message holds report content: %s", text)
		}
	}
	if notices != 2 || pings != 2 {
		t.Errorf("%d notices and %d pings for the follow-ups, want 2 and 2", notices, pings)
	}
	// Through another source (the MTA pipe), the same rules.
	if res := p.receive(t, bot.SourceIMAP, f.g.PGPMIME(t, gpgtest.Mail{From: rita, MessageID: "again@example.net", InReplyTo: ackID, Body: "x\n"}, to,
		gpgtest.MIMEOptions{SignWith: f.reporter})); !res.FollowUp || res.IncidentID != 1 {
		t.Errorf("a reply by pipe: %+v", res)
	}
}

// acknowledge sends SEC-1's queued acknowledgement through the mailer to
// an SMTP sink and returns its Message-ID and Reply-To.
func acknowledge(t *testing.T, p *pipeline, f *gpgFixture) (messageID, replyTo string) {
	t.Helper()
	ctx := context.Background()
	sink := startSMTPSink(t)
	m := email.NewMailer(email.SMTPOptions{Address: sink.addr, TLS: "starttls", RootCAs: sink.roots,
		From: "security@example.org", Timeout: 5 * time.Second}, f.team, p.in, discard())
	msgs, err := p.db.DueMessages(ctx, t0.Add(1e12), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range msgs {
		if msg.Kind == bot.MessageMail && msg.IncidentID == 1 {
			if err := m.Deliver(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	mails := sink.received()
	if len(mails) != 1 {
		t.Fatalf("%d mails sent, want the acknowledgement", len(mails))
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(mails[0].data)))
	if err != nil {
		t.Fatal(err)
	}
	messageID = msg.Header.Get("Message-ID")
	addr, err := mail.ParseAddress(msg.Header.Get("Reply-To"))
	if err != nil || messageID == "" {
		t.Fatalf("acknowledgement without Message-ID or Reply-To: %v\n%s", err, mails[0].data)
	}
	local, domain, _ := strings.Cut(addr.Address, "@")
	token, ok := strings.CutPrefix(local, "security+")
	if !ok || domain != "example.org" || len(token) < 26 {
		t.Fatalf("reply address %q is not security+<128-bit token>@example.org", addr.Address)
	}
	if strings.Contains(p.dbDump(t), token) {
		t.Error("the reply token is stored in the clear")
	}
	return messageID, addr.Address
}

// dbDump is the database's bytes, with its write-ahead log.
func (p *pipeline) dbDump(t *testing.T) string {
	t.Helper()
	data, _ := os.ReadFile(p.dbPath)
	wal, _ := os.ReadFile(p.dbPath + "-wal")
	return string(data) + string(wal)
}
