package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reasons a message is quarantined instead of becoming an incident. They
// are stable codes (stored, counted, tested); Rejection.Detail says more.
const (
	// One reason per limit in [intake]: a size limit is never reported as
	// damage, nor one limit as another.
	RejectTooLarge           = "too-large"            // the message is over max_message_size
	RejectDecryptedTooLarge  = "decrypted-too-large"  // decrypted or decompressed data over max_decrypted_size
	RejectAttachmentTooLarge = "attachment-too-large" // a file (as sent, or decrypted) over max_attachment_size
	RejectTooManyAttachments = "too-many-attachments" // files over max_attachments
	RejectTooManyParts       = "too-many-parts"       // MIME parts and OpenPGP blocks over max_parts
	RejectTooDeep            = "too-deep"             // MIME or encryption nesting over max_depth
	RejectHeaderTooLarge     = "header-too-large"     // one MIME header over its bound
	RejectTooManyRecipients  = "too-many-recipients"  // encrypted session keys over the bound
	RejectMalformedMIME      = "malformed-mime"
	RejectBadArmor           = "bad-armor"         // ASCII armor damaged: truncated, bad checksum, bad base64
	RejectMalformedOpenPGP   = "malformed-openpgp" // not a parseable OpenPGP message
	RejectWrongKey           = "wrong-key"         // not encrypted to the team key
	RejectNoIntegrity        = "no-integrity"      // encrypted without integrity protection (no MDC/AEAD)
	RejectIntegrity          = "integrity-failed"  // modified or damaged ciphertext
	RejectParserCrash        = "parser-crash"      // a parser panicked; recovered
	RejectNotEncrypted       = "not-encrypted"     // plaintext while [keys] require_encryption is set
)

// RejectReasons are all the reasons, for counting each (also at zero).
var RejectReasons = []string{RejectTooLarge, RejectDecryptedTooLarge, RejectAttachmentTooLarge, RejectTooManyAttachments,
	RejectTooManyParts, RejectTooDeep, RejectHeaderTooLarge, RejectTooManyRecipients,
	RejectMalformedMIME, RejectBadArmor, RejectMalformedOpenPGP, RejectWrongKey, RejectNoIntegrity,
	RejectIntegrity, RejectParserCrash, RejectNotEncrypted}

// Rejection is why a message cannot become an incident. Detail is safe to
// post in the triage channel: it never quotes the message's content.
type Rejection struct {
	Reason string
	Detail string
}

func (r *Rejection) Error() string {
	if r.Detail == "" {
		return r.Reason
	}
	return r.Reason + ": " + r.Detail
}

// Reject makes a Rejection; format and args must not carry message content.
func Reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// AsRejection returns the Rejection in err's chain, if any.
func AsRejection(err error) (*Rejection, bool) {
	var r *Rejection
	ok := errors.As(err, &r)
	return r, ok
}

// Quarantined is a message that was rejected, kept with its reason.
type Quarantined struct {
	ID         int64
	ReceivedAt time.Time
	Source     string
	ReportID   int64 // 0 when the message was too large to store
	// DedupeKey makes a re-delivery of the same rejected message a no-op.
	DedupeKey string
	Sender    string // as the message claims (untrusted)
	MessageID string // untrusted
	Size      int64
	Reason    string
	Detail    string
	// The desk's decisions (see QuarantineDesk).
	ReleasedAt time.Time // zero: not released (or released and rejected again)
	ReleasedBy string
	IncidentID int64 // the incident its report became once released, or 0
	DroppedAt  time.Time
	DroppedBy  string
	DropReason string
}

// Name is how the team refers to a quarantine entry: Q-7.
func (q *Quarantined) Name() string { return fmt.Sprintf("Q-%d", q.ID) }

// quarantineNotice is the triage-channel announcement of a rejected
// message: who sent it, how it came, and why it was rejected. Never any
// content: the message failed the checks that make its content safe.
func quarantineNotice(q *Quarantined) Text {
	var t Text
	t.Plain("Quarantined a message received by " + q.Source)
	if q.Sender != "" {
		t.Plain(" from ").Untrusted(q.Sender)
	}
	if q.Size > 0 {
		t.Plain(fmt.Sprintf(" (%s)", formatSize(int(min(q.Size, 1<<40)))))
	}
	t.Plain(": " + q.Reason)
	if q.Detail != "" {
		t.Plain(" — ").Untrusted(q.Detail)
	}
	t.Plain(".")
	t.Line()
	if q.ReportID != 0 {
		t.Plain(fmt.Sprintf("It did not become an incident. Reference %s (stored report %d).", q.Name(), q.ReportID))
	} else {
		t.Plain(fmt.Sprintf("It did not become an incident and was not stored. Reference %s.", q.Name()))
	}
	return t
}

// reject quarantines a stored report and announces it.
func (in *Intake) reject(ctx context.Context, w ReportTx, res IntakeResult, source string, env Envelope, size int64, rej *Rejection) (IntakeResult, error) {
	q := &Quarantined{
		ReceivedAt: in.svc.clock.Now(), Source: source, ReportID: res.ReportID,
		DedupeKey: fmt.Sprintf("report|%d", res.ReportID),
		Sender:    env.Sender, MessageID: env.MessageID, Size: size, Reason: rej.Reason, Detail: rej.Detail,
	}
	reused, err := in.reusedMessageID(ctx, w, res.ReportID)
	if err != nil {
		return res, err
	}
	q.Detail += reused
	return in.quarantine(ctx, w, res, q)
}

// rejectUnstored quarantines a message too large to keep. Its dedupe key
// comes from what can be read of it, so a re-delivery is recognised.
func (in *Intake) rejectUnstored(ctx context.Context, sub Submission, env Envelope, now time.Time) (IntakeResult, error) {
	size := sub.Size
	if size < int64(len(sub.Raw)) {
		size = int64(len(sub.Raw))
	}
	// What was read of it and its size, never the Message-ID alone: the
	// sender chooses that, and another message under it is another entry.
	hash, err := in.seal.Hash(sub.Raw)
	if err != nil {
		return IntakeResult{}, fmt.Errorf("hashing the message: %w", err)
	}
	key := fmt.Sprintf("oversized|%d|%s", size, hash)
	q := &Quarantined{
		ReceivedAt: now, Source: sub.Source, DedupeKey: key, Sender: env.Sender, MessageID: env.MessageID,
		Size: size, Reason: RejectTooLarge,
		Detail: fmt.Sprintf("the message is larger than the limit of %s ([intake] max_message_size)", formatSize(int(in.opts.MaxMessageBytes))),
	}
	res, err := in.quarantine(ctx, in.store, IntakeResult{}, q)
	if err == nil && !res.Duplicate {
		in.svc.wake()
	}
	return res, err
}

// quarantine stores q through w; the caller wakes the outbox once that is
// committed.
func (in *Intake) quarantine(ctx context.Context, w ReportTx, res IntakeResult, q *Quarantined) (IntakeResult, error) {
	st := in.svc.Settings()
	now := in.svc.clock.Now()
	id, created, err := w.QuarantineMessage(ctx, q, func(q *Quarantined) []OutboxMessage {
		var msgs []OutboxMessage
		for _, p := range st.Platforms {
			msgs = append(msgs, OutboxMessage{
				Dest: Destination{Platform: p, Channel: ChannelTriage},
				Kind: MessageQuarantine,
				Text: quarantineNotice(q),
				// The sender's address is about a report: private channels only.
				Confidential: true,
			})
		}
		stampMessages(msgs, now)
		return msgs
	})
	if err != nil {
		return res, fmt.Errorf("quarantining: %w", err)
	}
	res.QuarantineID, res.Reason, res.Duplicate = id, q.Reason, !created
	if created {
		in.log.Warn("message quarantined", "quarantine", id, "report", q.ReportID, "source", q.Source,
			"reason", q.Reason, "detail", q.Detail)
	}
	return res, nil
}
