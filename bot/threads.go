package bot

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Threads: a reporter's follow-up lands on its incident. Headers and
// [SEC-n] tags are written by the sender, so they are claims; only a
// reply token (which only mail from us carried) or a reply from the
// reporter's own address (signed by their key when the report was)
// proves a message belongs to an incident. Anything else that claims an
// incident opens a new one that notes the claim.

// SentMail is a mail sent about an incident: replies name its Message-ID,
// and its Reply-To carries a reply token stored only as a hash.
type SentMail struct {
	IncidentID     int64
	MessageID      string
	ReplyTokenHash string
	SentAt         time.Time
}

// FollowUp is a stored message that joined an incident.
type FollowUp struct {
	ReportID   int64
	IncidentID int64
	MatchedBy  string // how it was recognised: FollowUpByToken, FollowUpByReply, FollowUpByStatus
	ReceivedAt time.Time
}

// How a follow-up was recognised.
const (
	FollowUpByToken = "reply-address" // sent to the reply address of one of our mails
	FollowUpByReply = "in-reply-to"   // answers our mail or the report, from the reporter
	// FollowUpByStatus came through the reporter's private status link.
	FollowUpByStatus = "status-page"
)

// EventFollowUp is a follow-up joining an incident's timeline; EventClaim
// is a message that claimed the incident but opened another.
const (
	EventFollowUp = "follow-up"
	EventClaim    = "claimed-by-other"
)

// ThreadStore is what threading needs from storage.
type ThreadStore interface {
	// RecordSentMail remembers a mail before it is sent.
	RecordSentMail(ctx context.Context, m SentMail) error
	// IncidentByReplyToken returns the incident whose mail carried the
	// reply token with this hash, or 0.
	IncidentByReplyToken(ctx context.Context, hash string) (int64, error)
	// IncidentByMessageID returns the incident a Message-ID belongs to:
	// one of our mails about it, its report or one of its follow-ups; 0
	// when none.
	IncidentByMessageID(ctx context.Context, messageID string) (int64, error)
	// AddFollowUp links a stored report to an incident, appends what
	// build makes (timeline, posts) and marks the report finished, in one
	// transaction; a report already linked makes it a no-op.
	AddFollowUp(ctx context.Context, f FollowUp, build func(inc *Incident) Change) (created bool, err error)
	// FollowUps lists an incident's follow-ups, oldest first.
	FollowUps(ctx context.Context, incidentID int64) ([]FollowUp, error)
}

// replyTokenBytes is the entropy of a reply token: 128 bits.
const replyTokenBytes = 16

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewReplyToken makes a reply token and the hash to store of it.
func NewReplyToken() (token, hash string) {
	b := make([]byte, replyTokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token = strings.ToLower(tokenEncoding.EncodeToString(b))
	return token, HashReplyToken(token)
}

// HashReplyToken is what is stored of a token: a plain hash suffices for
// 128 random bits, and the database alone then cannot mail as a reporter.
// Mail systems may change the case of the local part: case is ignored.
func HashReplyToken(token string) string {
	s := sha256.Sum256([]byte(strings.ToLower(token)))
	return hex.EncodeToString(s[:])
}

// ReplyAddress is base (security@example.org, with or without a display
// name) with the token as its plus-address: security+<token>@example.org.
func ReplyAddress(base, token string) (string, error) {
	a, err := mail.ParseAddress(base)
	if err != nil {
		return "", fmt.Errorf("reply address from %q: %w", base, err)
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok {
		return "", fmt.Errorf("reply address from %q: no domain", base)
	}
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	a.Address = local + "+" + token + "@" + domain
	return a.String(), nil
}

// replyToken returns the plus-address tag of addr that has the shape of a
// token, or "".
func replyToken(addr string) string {
	local, _, ok := strings.Cut(addr, "@")
	if !ok {
		return ""
	}
	_, tag, ok := strings.Cut(local, "+")
	if !ok || len(tag) != tokenEncoding.EncodedLen(replyTokenBytes) {
		return ""
	}
	if _, err := tokenEncoding.DecodeString(strings.ToUpper(tag)); err != nil {
		return ""
	}
	return tag
}

var subjectTag = regexp.MustCompile(`(?i)\[SEC-([0-9]{1,12})\]`)

// threadMatch is what threading decided about a report.
type threadMatch struct {
	incident *Incident // the incident it joins; nil: a new incident
	by       string
	// claim says, for a new incident, which incident the message claimed
	// and why that was not accepted ("" when it claimed none).
	claim   string
	claimed *Incident // the claimed incident, when it exists
}

// thread decides whether rep is a follow-up of an incident.
func (in *Intake) thread(ctx context.Context, rep *Report) (threadMatch, error) {
	for _, r := range rep.Recipients {
		tok := replyToken(r)
		if tok == "" {
			continue
		}
		id, err := in.store.IncidentByReplyToken(ctx, HashReplyToken(tok))
		if err != nil {
			return threadMatch{}, err
		}
		if id != 0 {
			inc, err := in.store.Incident(ctx, id)
			return threadMatch{incident: inc, by: FollowUpByToken}, err
		}
	}
	var m threadMatch
	for _, ref := range rep.References {
		id, err := in.store.IncidentByMessageID(ctx, ref)
		if err != nil {
			return m, err
		}
		if id == 0 {
			continue
		}
		inc, err := in.store.Incident(ctx, id)
		if err != nil {
			return m, err
		}
		why, err := in.notFromReporter(ctx, inc, rep)
		if err != nil {
			return m, err
		}
		if why == "" {
			return threadMatch{incident: inc, by: FollowUpByReply}, nil
		}
		m.claim = fmt.Sprintf("it answers a mail of %s, but %s", inc.Name(), why)
		m.claimed = inc
		return m, nil
	}
	if sm := subjectTag.FindStringSubmatch(rep.Subject); sm != nil {
		id, _ := strconv.ParseInt(sm[1], 10, 64)
		inc, err := in.store.Incident(ctx, id)
		switch {
		case KindOf(err) == KindNotFound:
			m.claim = fmt.Sprintf("its subject names %s, which does not exist", FormatID(id))
		case err != nil:
			return m, err
		default:
			m.claim = fmt.Sprintf("its subject names %s, but a subject is no proof (it neither answers our mail from the reporter's address nor uses the reply address)", inc.Name())
			m.claimed = inc
		}
	}
	return m, nil
}

// notFromReporter says why rep cannot be the reporter of inc answering
// ("" when it can): it must come from their address and, when their
// report was signed by a verified key, be signed by that key.
func (in *Intake) notFromReporter(ctx context.Context, inc *Incident, rep *Report) (string, error) {
	if inc.Reporter == "" || !strings.EqualFold(strings.TrimSpace(rep.From), strings.TrimSpace(inc.Reporter)) {
		return "it is not from the reporter's address", nil
	}
	orig, err := in.Report(ctx, inc.ID)
	if err != nil {
		if k := KindOf(err); k == KindNotFound || k == KindInvalid {
			return "", nil // opened by hand, or unreadable now: the address is all there is
		}
		return "", err
	}
	if orig.Signature.Status != SigVerified {
		return "", nil
	}
	if rep.Signature.Status != SigVerified || !strings.EqualFold(rep.Signature.Fingerprint, orig.Signature.Fingerprint) {
		return "the report was signed by key " + orig.Signature.Fingerprint + " and this message is not", nil
	}
	return "", nil
}

// followUpNoticeLines is how much of a follow-up its notice quotes; the
// whole is in `show`.
const followUpNoticeLines = 25

// followUpExcerpt is the beginning of a follow-up's readable text for the
// notice in the incident's channel, and how many lines it leaves out. As
// for routing, only what came through the encryption when anything did:
// text added outside it on the way is not quoted as the reporter's.
func followUpExcerpt(rep *Report, max int) (string, int) {
	text := strings.TrimRight(rep.RoutingText(), "\n")
	if text == "" {
		return "", 0
	}
	lines := strings.Split(text, "\n")
	if len(lines) <= max {
		return text, 0
	}
	return strings.Join(lines[:max], "\n"), len(lines) - max
}

// followUp links a stored report to its incident: a timeline entry, a
// notice in the incident's channel that quotes its beginning (sealed in
// the outbox, confidential on delivery) and a ping to the assignee.
// It writes through w; the caller wakes the outbox once that commits.
func (in *Intake) followUp(ctx context.Context, w ReportTx, reportID int64, source string, rep *Report, m threadMatch) (IntakeResult, error) {
	res := IntakeResult{ReportID: reportID, IncidentID: m.incident.ID, FollowUp: true}
	st := in.svc.Settings()
	now := in.svc.clock.Now()
	how := map[string]string{FollowUpByToken: "sent to the reply address of our mail",
		FollowUpByReply: "a reply from the reporter's address", FollowUpByStatus: "added through the reporter's status link"}[m.by]
	_, err := w.AddFollowUp(ctx, FollowUp{ReportID: reportID, IncidentID: m.incident.ID, MatchedBy: m.by, ReceivedAt: now},
		func(inc *Incident) Change {
			details := fmt.Sprintf("stored report %d, %s; %s", reportID, how, rep.Summary(source))
			var text Text
			text.Plain(fmt.Sprintf("%s: the reporter sent a follow-up (%s). Read it with: show %d", inc.Name(), how, inc.ID))
			excerpt, more := followUpExcerpt(rep, followUpNoticeLines)
			if excerpt != "" {
				text.Line().Block(excerpt)
			}
			if more > 0 {
				text.Line().Plain(fmt.Sprintf("[%d more lines: show %d]", more, inc.ID))
			}
			msgs := in.svc.notices(st, SystemActor(), inc, text)
			for i := range msgs {
				// It quotes the reporter: only where report content may go
				// (the outbox keeps it sealed until then).
				msgs[i].Confidential = true
			}
			if inc.Assignee != "" {
				var ping Text
				ping.Mention(inc.Assignee).Plain(fmt.Sprintf(" the reporter of %s sent a follow-up. Read it with: show %d", inc.Name(), inc.ID))
				msgs = append(msgs, in.svc.pings(st, inc, inc.Assignee, MessagePing, fmt.Sprintf("followup|%d", reportID), ping)...)
			}
			stampMessages(msgs, now)
			return Change{Events: []Event{in.svc.event(SystemActor(), EventFollowUp, details)}, Outbox: msgs}
		})
	if err != nil {
		return res, fmt.Errorf("adding report %d to %s: %w", reportID, m.incident.Name(), err)
	}
	in.log.Info("report joined its incident as a follow-up", "report", reportID, "incident", m.incident.Name(), "matched_by", m.by)
	return res, nil
}

// noteClaim records on the claimed incident that another message claimed
// it and opened inc instead, through w.
func (in *Intake) noteClaim(ctx context.Context, w ReportTx, claimed, inc *Incident, claim string) error {
	_, err := w.UpdateIncident(ctx, claimed.ID, func(*Incident) (Change, error) {
		return Change{Events: []Event{in.svc.event(SystemActor(), EventClaim,
			fmt.Sprintf("%s claims to be about this incident and was opened separately: %s", inc.Name(), claim))}}, nil
	})
	return err
}

// RecordSentMail implements the mailer's record of what it sends.
func (in *Intake) RecordSentMail(ctx context.Context, m SentMail) error {
	return in.store.RecordSentMail(ctx, m)
}

// followUpTexts renders an incident's follow-ups for `show`, decrypted
// now and never stored so.
func (in *Intake) followUpTexts(ctx context.Context, incidentID int64, loc *time.Location) (Text, error) {
	fs, err := in.store.FollowUps(ctx, incidentID)
	if err != nil || len(fs) == 0 {
		return Text{}, err
	}
	var t Text
	for i, f := range fs {
		t.Line().Line().Plain(fmt.Sprintf("Follow-up %d (received %s, %s):", i+1, FormatTime(f.ReceivedAt, loc), f.MatchedBy)).Line()
		kept, err := in.store.KeptReport(ctx, f.ReportID)
		if err != nil {
			return t, err
		}
		raw, err := in.raw(kept)
		if err != nil {
			t.Plain("(cannot be unsealed: the team key changed)")
			continue
		}
		rep, err := in.decode(raw)
		if rej, ok := AsRejection(err); ok {
			t.Plain("(cannot be read any more: " + EscapeControl(rej.Error(), false) + ")")
			continue
		}
		if err != nil {
			return t, err
		}
		t.Append(rep.Text())
	}
	return t, nil
}
