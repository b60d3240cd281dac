package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
)

// Intake sources.
const (
	SourceIMAP = "imap"
	SourcePipe = "pipe"
	SourceWeb  = "web"
	SourceDemo = "demo"
)

// Submission is one message handed to intake by a source.
type Submission struct {
	Source string
	// Raw is the whole message as received. When Oversized is set it is
	// only the beginning (at least the header), kept to name the sender.
	Raw       []byte
	Oversized bool
	Size      int64 // the whole message's size, when Oversized
}

// IntakeResult is what became of a submission. Exactly one of IncidentID
// and QuarantineID is set.
type IntakeResult struct {
	ReportID     int64 // 0 when the message was too large to store
	IncidentID   int64
	QuarantineID int64
	Reason       string // the quarantine reason
	Duplicate    bool   // the message had been received before
	FollowUp     bool   // it joined IncidentID as a follow-up
	// StatusURL is the private status link made for the acknowledgement,
	// when one was (the form shows it too).
	StatusURL string
}

// Envelope is what intake needs to know before decoding a message, read
// cheaply from its header. It never fails: an unreadable header yields
// zero values and Seal.
type Envelope struct {
	MessageID string
	Sender    string
	// Seal is set when the message may carry plaintext (anything but a
	// PGP/MIME multipart/encrypted message): it is encrypted to the team
	// key before it is stored, so the database never holds a report body
	// in plaintext.
	Seal bool
}

// ReportDecoder reads messages: the MIME and OpenPGP parser.
type ReportDecoder interface {
	Envelope(raw []byte) Envelope
	// Decode decrypts and checks a message. A message that cannot be
	// accepted yields a *Rejection; it must never panic.
	Decode(raw []byte) (*Report, error)
}

// Sealer keeps plaintext out of the database.
type Sealer interface {
	Seal(raw []byte) ([]byte, error) // encrypt to the team key
	Unseal(sealed []byte) ([]byte, error)
	// Hash identifies a message for deduplication without revealing it (a
	// keyed hash: a plain hash of a plaintext report would let anyone with
	// the database confirm a guess of its content). It fails only if the
	// key behind it cannot be unlocked.
	Hash(raw []byte) (string, error)
}

// Router picks the SIG for a report from routing rules; "" means the
// default SIG.
type Router interface {
	Route(subject, body string, recipients []string) string
}

// KeptReport is a report as stored.
type KeptReport struct {
	ID         int64
	ReceivedAt time.Time
	Source     string
	MessageID  string
	Hash       string
	Raw        []byte // as received, or sealed
	Sealed     bool
}

// ReportOutcome says how far a stored report got.
type ReportOutcome struct {
	IncidentID       int64 // its incident, or the one it follows up
	FollowUp         bool
	QuarantineID     int64
	QuarantineReason string
	Finished         bool // the outcome and everything it queues are committed
}

// ReportTx is what taking one message to its outcome writes. Inside
// IntakeStore.InReportTx every call joins one write transaction; the
// store implements it as well, each call committing on its own (the path
// of a report stored earlier and finished later).
type ReportTx interface {
	// KeepReport stores a report unless one with the same hash exists;
	// then it returns that one's id and duplicate. The Message-ID is no
	// part of it: the sender chooses it, so a forged mail sent first
	// could otherwise swallow the genuine one.
	KeepReport(ctx context.Context, r KeptReport) (id int64, duplicate bool, err error)
	// SameMessageID returns the first report stored before id under the
	// same Message-ID (with other content), or 0.
	SameMessageID(ctx context.Context, id int64) (int64, error)
	CreateIncident(ctx context.Context, inc *Incident, build func(inc *Incident) Change) (*Incident, error)
	// FinishReport queues msgs and marks the report finished, in one
	// transaction.
	FinishReport(ctx context.Context, id int64, msgs []OutboxMessage, at time.Time) error
	// QuarantineMessage stores the entry, then the messages build makes
	// (which need its id), and marks its report finished, in one
	// transaction. An entry with the same DedupeKey or report makes it a
	// no-op that returns the existing entry's id.
	QuarantineMessage(ctx context.Context, q *Quarantined, build func(q *Quarantined) []OutboxMessage) (id int64, created bool, err error)
	// AddFollowUp is ThreadStore.AddFollowUp.
	AddFollowUp(ctx context.Context, f FollowUp, build func(inc *Incident) Change) (created bool, err error)
	// UpdateIncident is IncidentStore.UpdateIncident (a claimed
	// incident's note).
	UpdateIncident(ctx context.Context, id int64, fn func(*Incident) (Change, error)) (*Incident, error)
	// AddStatusToken is StatusStore.AddStatusToken (the acknowledgement's
	// status link).
	AddStatusToken(ctx context.Context, hash string, incidentID int64, at time.Time) error
}

// IntakeStore is what intake needs from storage.
type IntakeStore interface {
	ReportTx
	ThreadStore
	// InReportTx runs fn in one write transaction: what fn writes through
	// tx commits together when fn returns nil (one fsync), and none of it
	// when fn fails.
	InReportTx(ctx context.Context, fn func(tx ReportTx) error) error
	KeptReport(ctx context.Context, id int64) (*KeptReport, error)
	ReportOutcome(ctx context.Context, id int64) (ReportOutcome, error)
	// UnfinishedReports lists reports received before cutoff that have no
	// committed outcome, oldest first.
	UnfinishedReports(ctx context.Context, cutoff time.Time, limit int) ([]int64, error)
	Incident(ctx context.Context, id int64) (*Incident, error)
}

// IntakeOptions configure the pipeline.
type IntakeOptions struct {
	MaxMessageBytes   int64
	RequireEncryption bool
	// Acknowledge mails the reporter the incident id (needs an e-mail
	// deliverer; see Settings.ReporterMail).
	Acknowledge bool
	// OwnAddresses are never acknowledged: a mail loop with ourselves.
	OwnAddresses []string
	// Status keeps the reporters' status links and follow-ups; with
	// StatusURL (the base the token is appended to) every acknowledgement
	// carries a status link.
	Status    StatusStore
	StatusURL string
}

// Intake turns received messages into incidents or quarantine entries:
// decode, then store the message, open the incident (or the quarantine
// entry) and queue the acknowledgement in one transaction, so a message
// costs one fsync and is either wholly taken or not at all (its source
// keeps it until Receive returns nil). Reports stored by earlier versions
// or interrupted paths are finished step by step, each step idempotent,
// by a re-delivery or by Resume.
type Intake struct {
	svc    *Service
	store  IntakeStore
	dec    ReportDecoder
	seal   Sealer
	router Router
	log    *slog.Logger
	opts   IntakeOptions
}

// NewIntake makes the pipeline. router may be nil: the SIGs' routing rules
// of the service's settings decide, and the rest goes to the
// default SIG.
func NewIntake(svc *Service, store IntakeStore, dec ReportDecoder, seal Sealer, router Router, log *slog.Logger, opts IntakeOptions) *Intake {
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 25 << 20
	}
	return &Intake{svc: svc, store: store, dec: dec, seal: seal, router: router, log: log.With("component", "intake"), opts: opts}
}

// Receive runs a message through the pipeline. It returns nil only once
// the incident or the quarantine entry is committed; any error means the
// source must keep the message and offer it again.
func (in *Intake) Receive(ctx context.Context, sub Submission) (IntakeResult, error) {
	now := in.svc.clock.Now()
	env := in.envelope(sub.Raw)
	if sub.Oversized || int64(len(sub.Raw)) > in.opts.MaxMessageBytes {
		return in.rejectUnstored(ctx, sub, env, now)
	}
	kept, err := in.keep(sub.Source, sub.Raw, env)
	if err != nil {
		return IntakeResult{}, err
	}
	// Decoded and threaded before the transaction begins, so the write
	// lock is never held while decrypting (threading may decrypt the
	// incident's report to compare signers). A duplicate is decoded for
	// nothing; that is the rare case (an MTA's retry).
	rep, decodeErr := in.decode(sub.Raw)
	thread, threadErr := in.threadOf(ctx, rep, decodeErr)
	var res IntakeResult
	dup := false
	err = in.store.InReportTx(ctx, func(tx ReportTx) error {
		id, d, err := tx.KeepReport(ctx, kept)
		if err != nil {
			return fmt.Errorf("storing the message: %w", err)
		}
		if dup = d; dup {
			res.ReportID = id
			return nil
		}
		if threadErr != nil {
			return fmt.Errorf("threading report %d: %w", id, threadErr)
		}
		res, err = in.conclude(ctx, tx, id, sub.Source, env, int64(len(sub.Raw)), rep, decodeErr, thread, "")
		return err
	})
	if err != nil {
		return IntakeResult{}, err
	}
	if !dup {
		in.svc.wake()
		return res, nil
	}
	// Received before, byte for byte (an MTA's retry, an IMAP re-fetch). If
	// that delivery got as far as a committed outcome, this is it; if not
	// (it was interrupted), finish it from the stored copy.
	id := res.ReportID
	out, err := in.store.ReportOutcome(ctx, id)
	if err != nil {
		return IntakeResult{}, fmt.Errorf("reading report %d: %w", id, err)
	}
	if out.Finished {
		return outcomeResult(id, out), nil
	}
	res, err = in.finishStored(ctx, id)
	res.Duplicate = true
	return res, err
}

// keep makes the stored form of a message as received: sealed first when
// it may carry plaintext, with the keyed hash that finds the same bytes
// stored before. The caller stores it (ReportTx.KeepReport) in the
// transaction that takes it to its outcome.
func (in *Intake) keep(source string, raw []byte, env Envelope) (KeptReport, error) {
	stored, sealed := raw, false
	if env.Seal {
		s, err := in.seal.Seal(raw)
		if err != nil {
			return KeptReport{}, fmt.Errorf("sealing a plaintext message: %w", err)
		}
		stored, sealed = s, true
	}
	hash, err := in.seal.Hash(raw)
	if err != nil {
		return KeptReport{}, fmt.Errorf("hashing the message: %w", err)
	}
	return KeptReport{
		ReceivedAt: in.svc.clock.Now(), Source: source, MessageID: env.MessageID,
		Hash: hash, Raw: stored, Sealed: sealed,
	}, nil
}

// threadOf is thread for a message decode accepted; one it refused (or
// that conclude will quarantine) threads nowhere.
func (in *Intake) threadOf(ctx context.Context, rep *Report, decodeErr error) (threadMatch, error) {
	if decodeErr != nil || (!rep.Encrypted() && in.opts.RequireEncryption) {
		return threadMatch{}, nil
	}
	return in.thread(ctx, rep)
}

// finishStored takes a stored, unfinished report to its outcome. A sealed
// copy that cannot be unsealed any more (the team key was replaced) is
// quarantined: it would otherwise be retried forever without a trace.
func (in *Intake) finishStored(ctx context.Context, id int64) (IntakeResult, error) {
	kept, err := in.store.KeptReport(ctx, id)
	if err != nil {
		return IntakeResult{ReportID: id}, err
	}
	raw, err := in.raw(kept)
	if err != nil {
		in.log.Error("a stored report cannot be unsealed", "report", id, "err", err)
		res, err := in.reject(ctx, in.store, IntakeResult{ReportID: id}, kept.Source, Envelope{MessageID: kept.MessageID}, int64(len(kept.Raw)),
			Reject(RejectWrongKey, "the stored copy is sealed to a team key that is no longer configured"))
		if err == nil {
			in.svc.wake()
		}
		return res, err
	}
	return in.process(ctx, id, kept.Source, raw, in.envelope(raw), "")
}

func outcomeResult(id int64, out ReportOutcome) IntakeResult {
	return IntakeResult{ReportID: id, IncidentID: out.IncidentID, QuarantineID: out.QuarantineID,
		Reason: out.QuarantineReason, Duplicate: true, FollowUp: out.FollowUp}
}

// Resume finishes stored reports whose processing was interrupted (a
// crash between storing and committing the outcome) and returns how many
// it finished. Reports younger than grace are left alone: another process
// may be working on them right now.
func (in *Intake) Resume(ctx context.Context, grace time.Duration) (int, error) {
	ids, err := in.store.UnfinishedReports(ctx, in.svc.clock.Now().Add(-grace), 100)
	if err != nil {
		return 0, fmt.Errorf("listing unfinished reports: %w", err)
	}
	done := 0
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			return done, ctx.Err()
		}
		_, err := in.finishStored(ctx, id)
		if err != nil {
			in.log.Error("could not finish a stored report; will retry", "report", id, "err", err)
			errs = append(errs, err)
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}

// Run finishes interrupted reports at start and then every interval, until
// ctx ends.
func (in *Intake) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := in.Resume(ctx, time.Minute); n > 0 || err != nil {
			in.log.Info("finished interrupted reports", "count", n, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// raw returns the message as received from a stored report.
func (in *Intake) raw(r *KeptReport) ([]byte, error) {
	if !r.Sealed {
		return r.Raw, nil
	}
	raw, err := in.seal.Unseal(r.Raw)
	if err != nil {
		return nil, fmt.Errorf("unsealing report %d: %w", r.ID, err)
	}
	return raw, nil
}

// process takes a stored report to its committed outcome, one step (and
// transaction) at a time, each idempotent. note is added to the new
// incident's first timeline entry (how it came in, if not directly).
func (in *Intake) process(ctx context.Context, id int64, source string, raw []byte, env Envelope, note string) (IntakeResult, error) {
	res := IntakeResult{ReportID: id}
	out, err := in.store.ReportOutcome(ctx, id)
	if err != nil {
		return res, fmt.Errorf("reading report %d: %w", id, err)
	}
	if out.Finished || out.QuarantineID != 0 {
		// Quarantine commits its finish in the same transaction: an entry
		// means finished.
		return outcomeResult(id, out), nil
	}
	if out.IncidentID != 0 {
		// The incident was committed, the acknowledgement not yet.
		res.IncidentID = out.IncidentID
		inc, err := in.store.Incident(ctx, out.IncidentID)
		if err != nil {
			return res, err
		}
		rep, _ := in.decode(raw) // only to know whether to acknowledge
		res.StatusURL, err = in.finish(ctx, in.store, id, inc, rep)
		in.svc.wake()
		return res, err
	}
	rep, decodeErr := in.decode(raw)
	thread, err := in.threadOf(ctx, rep, decodeErr)
	if err != nil {
		return res, fmt.Errorf("threading report %d: %w", id, err)
	}
	res, err = in.conclude(ctx, in.store, id, source, env, int64(len(raw)), rep, decodeErr, thread, note)
	if err != nil {
		// Another process may have opened it first: the store allows one
		// incident per report.
		again, e2 := in.store.ReportOutcome(ctx, id)
		if e2 != nil || again.IncidentID == 0 {
			return res, err
		}
		res.IncidentID = again.IncidentID
		if again.Finished {
			return res, nil
		}
		inc, err := in.store.Incident(ctx, again.IncidentID)
		if err != nil {
			return res, err
		}
		res.StatusURL, err = in.finish(ctx, in.store, id, inc, rep)
		in.svc.wake()
		return res, err
	}
	in.svc.wake()
	return res, nil
}

// conclude takes report id, decoded into rep (or refused with
// decodeErr) and threaded into thread, to its outcome, writing through w:
// a follow-up of its incident, an incident with the acknowledgement
// queued, or a quarantine entry. The caller wakes the outbox once w's
// writes are committed.
func (in *Intake) conclude(ctx context.Context, w ReportTx, id int64, source string, env Envelope, size int64, rep *Report, decodeErr error, thread threadMatch, note string) (IntakeResult, error) {
	res := IntakeResult{ReportID: id}
	if rej, ok := AsRejection(decodeErr); ok {
		return in.reject(ctx, w, res, source, env, size, rej)
	}
	if decodeErr != nil {
		return res, decodeErr
	}
	if !rep.Encrypted() && in.opts.RequireEncryption {
		return in.reject(ctx, w, res, source, env, size,
			Reject(RejectNotEncrypted, "the message is not encrypted to the team key and [keys] require_encryption is set"))
	}
	if thread.incident != nil {
		return in.followUp(ctx, w, id, source, rep, thread)
	}
	reused, err := in.reusedMessageID(ctx, w, id)
	if err != nil {
		return res, err
	}
	detail := rep.Summary(source) + reused + note
	if thread.claim != "" {
		detail += "; NOTE: this message claims to belong to an incident, but " + thread.claim + ": opened as an incident of its own"
	}
	// The SIG's routing rules of the settings in force (they change on
	// reload), unless a router was given.
	var sig string
	if in.router != nil {
		sig = in.router.Route(rep.Subject, rep.RoutingText(), rep.Recipients)
	} else {
		var why string
		sig, why = in.svc.Settings().Route(ReportFacts{Subject: rep.Subject, Body: rep.RoutingText(), Recipients: rep.Recipients})
		if why != "" {
			detail += "; routed: " + why
		}
	}
	inc, err := in.svc.openIncident(ctx, w, SystemActor(), NewIncident{
		Title: rep.Subject, SIG: sig, Reporter: rep.From, ReporterKey: rep.ReporterKeyFingerprint,
		ReportID: id, Encrypted: rep.Encrypted(), Detail: detail,
	})
	if err != nil {
		return res, fmt.Errorf("opening an incident for report %d: %w", id, err)
	}
	res.IncidentID = inc.ID
	if thread.claimed != nil {
		// The link back; the new incident's first entry has it already.
		// In the same transaction: the message is taken with both or not
		// at all (its source offers it again).
		if err := in.noteClaim(ctx, w, thread.claimed, inc, thread.claim); err != nil {
			return res, fmt.Errorf("noting the claim on %s: %w", thread.claimed.Name(), err)
		}
	}
	in.log.Info("report became an incident", "report", id, "incident", inc.Name(), "source", source,
		"encrypted", rep.Encrypted(), "signature", string(rep.Signature.Status))
	res.StatusURL, err = in.finish(ctx, w, id, inc, rep)
	return res, err
}

// reusedMessageID is the timeline's note for a report whose Message-ID an
// earlier, different message carried ("" if none), logged as well: one of
// the two may be forged, and neither may vanish into the other.
func (in *Intake) reusedMessageID(ctx context.Context, w ReportTx, id int64) (string, error) {
	first, err := w.SameMessageID(ctx, id)
	if err != nil || first == 0 {
		return "", err
	}
	out, err := in.store.ReportOutcome(ctx, first)
	if err != nil {
		return "", fmt.Errorf("reading report %d: %w", first, err)
	}
	ref := fmt.Sprintf("stored report %d", first)
	switch {
	case out.IncidentID != 0:
		ref = FormatID(out.IncidentID)
	case out.QuarantineID != 0:
		ref = (&Quarantined{ID: out.QuarantineID}).Name()
	}
	in.log.Warn("a different message reused a known Message-ID; kept as a report of its own",
		"report", id, "earlier_report", first, "earlier", ref)
	return fmt.Sprintf("; NOTE: this message reused the Message-ID of %s but its content differs: "+
		"it is a separate report, not merged (one of them may be forged)", ref), nil
}

// decode runs the decoder, turning a panic that escaped it into a
// rejection: a parser bug must cost one message, not the daemon.
func (in *Intake) decode(raw []byte) (rep *Report, err error) {
	defer func() {
		if p := recover(); p != nil {
			in.log.Error("report decoder panicked", "panic", fmt.Sprint(p))
			rep, err = nil, Reject(RejectParserCrash, "the message parser failed on this message")
		}
	}()
	return in.dec.Decode(raw)
}

func (in *Intake) envelope(raw []byte) (env Envelope) {
	defer func() {
		if p := recover(); p != nil {
			env = Envelope{Seal: true}
		}
	}()
	return in.dec.Envelope(raw)
}

// finish queues the acknowledgement to the reporter, with a new status
// link when they are configured, and marks the report finished, through
// w. rep is nil when resuming: then only the incident is known, which is
// all the acknowledgement needs (the deliverer looks up the key). It
// returns the status link it made ("" if none); the caller wakes the
// outbox once w's writes are committed.
func (in *Intake) finish(ctx context.Context, w ReportTx, reportID int64, inc *Incident, rep *Report) (string, error) {
	var msgs []OutboxMessage
	link := ""
	if in.shouldAcknowledge(inc, rep) {
		if in.StatusLinks() {
			var err error
			if link, err = in.issueStatus(ctx, w, inc.ID); err != nil {
				return "", err
			}
		}
		msgs = append(msgs, OutboxMessage{
			Dest:       Destination{Platform: PlatformEmail, Address: inc.Reporter},
			Kind:       MessageMail,
			IncidentID: inc.ID,
			Text:       acknowledgement(inc, link),
			DedupeKey:  fmt.Sprintf("ack|report|%d", reportID),
			// The status link is a secret of the reporter's.
			Confidential: link != "",
		})
	}
	stampMessages(msgs, in.svc.clock.Now())
	if err := w.FinishReport(ctx, reportID, msgs, in.svc.clock.Now()); err != nil {
		return "", fmt.Errorf("finishing report %d: %w", reportID, err)
	}
	return link, nil
}

func (in *Intake) shouldAcknowledge(inc *Incident, rep *Report) bool {
	if !in.opts.Acknowledge || !in.svc.Settings().ReporterMail || inc.Reporter == "" {
		return false
	}
	if rep != nil && rep.AutoSubmitted {
		return false
	}
	addr, err := mail.ParseAddress(inc.Reporter)
	if err != nil || addr.Address != inc.Reporter {
		return false
	}
	for _, own := range in.opts.OwnAddresses {
		if strings.EqualFold(own, inc.Reporter) {
			return false
		}
	}
	return true
}

// acknowledgement is the mail a reporter gets: the incident id and nothing
// of the report, since it may have to go unencrypted.
func acknowledgement(inc *Incident, statusLink string) Text {
	var t Text
	t.Plain("Hello,").Line().Line()
	t.Plain(fmt.Sprintf("thank you for your report. We received it and track it as %s.", inc.Name())).Line()
	t.Plain("To add anything, reply to this mail: the reply address is your report's own.").Line().Line()
	if statusLink != "" {
		t.Plain("You can follow its state and add information (encrypted in your browser) at this private link;").Line()
		t.Plain("keep it to yourself, anyone who has it can see the state and add to the report:").Line()
		t.Plain(statusLink).Line().Line()
	}
	// Credits in the advisory need the reporter's consent and the name
	// they choose (the team records it with advisory <id> credit).
	t.Plain("When we publish an advisory about it, we would like to credit you. Reply with the name to").Line()
	t.Plain("credit (and an organisation, if you like), or with \"no credit\": we credit nobody without consent.").Line().Line()
	t.Plain("The security team")
	return t
}

// Report decodes the stored report of an incident again: for showing it,
// for posting it, and for the reporter's key when mailing them.
func (in *Intake) Report(ctx context.Context, incidentID int64) (*Report, error) {
	inc, err := in.store.Incident(ctx, incidentID)
	if err != nil {
		return nil, err
	}
	if inc.ReportID == 0 {
		return nil, Errorf(KindNotFound, "%s has no stored report.", inc.Name())
	}
	kept, err := in.store.KeptReport(ctx, inc.ReportID)
	if err != nil {
		return nil, err
	}
	raw, err := in.raw(kept)
	if err != nil {
		return nil, err
	}
	rep, err := in.decode(raw)
	if rej, ok := AsRejection(err); ok {
		// It was accepted once; a lower limit or a removed key can refuse it now.
		return nil, Errorf(KindInvalid, "The report of %s cannot be read any more: %s.", inc.Name(), EscapeControl(rej.Error(), false))
	}
	return rep, err
}

// ReportBody implements the command layer's ReportReader: the decrypted
// report, rendered for a private channel. Nothing of it is stored.
func (in *Intake) ReportBody(ctx context.Context, incidentID int64) (Text, error) {
	rep, err := in.Report(ctx, incidentID)
	if err != nil {
		return Text{}, err
	}
	t := rep.Text()
	more, err := in.followUpTexts(ctx, incidentID, in.svc.Settings().Location)
	if err != nil {
		return Text{}, fmt.Errorf("reading the follow-ups of %s: %w", FormatID(incidentID), err)
	}
	t.Append(more)
	return t, nil
}
