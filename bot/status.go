package bot

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// The reporter's side of an incident: a private status link (a capability
// URL) that shows how far the report has come and takes follow-ups.

// EventStatusRevoked records that an officer revoked the status links.
const EventStatusRevoked = "status-revoked"

// statusTokenBytes is the randomness of a status link: 256 bits, far over
// the 128 a capability URL needs to be unguessable.
const statusTokenBytes = 32

// MaxFollowUps bounds the follow-ups one incident takes through its
// status link: enough for any conversation, not a storage for anyone who
// learned the link.
const MaxFollowUps = 50

// StatusStore keeps the status links, only as hashes. What reporters add
// through them is stored by intake, as every follow-up (ThreadStore).
type StatusStore interface {
	AddStatusToken(ctx context.Context, hash string, incidentID int64, at time.Time) error
	// StatusToken returns the incident of a token that is not revoked, or
	// a KindNotFound *Error.
	StatusToken(ctx context.Context, hash string) (incidentID int64, err error)
	// RevokeStatusTokens revokes every live token of an incident and says
	// how many there were.
	RevokeStatusTokens(ctx context.Context, incidentID int64, at time.Time) (int, error)
	// CountFollowUps counts an incident's follow-ups recognised by
	// matchedBy (FollowUpByStatus, ...), without loading them.
	CountFollowUps(ctx context.Context, incidentID int64, matchedBy string) (int, error)
}

// ReporterStage is how far a report has come, in the reporter's words.
type ReporterStage string

// The stages a reporter sees, in order; "closed" ends a report that was
// not fixed (rejected, a duplicate, won't fix).
const (
	StageReceived  ReporterStage = "received"
	StageConfirmed ReporterStage = "confirmed" // the team acknowledged it and is looking into it
	StageFixing    ReporterStage = "fixing"    // a confirmed vulnerability, fix under way
	StagePublished ReporterStage = "published" // fix released, advisory published
	StageClosed    ReporterStage = "closed"
)

// ReporterStages lists the stages of a report that goes the whole way.
var ReporterStages = []ReporterStage{StageReceived, StageConfirmed, StageFixing, StagePublished}

// StageOf maps an incident's state to what its reporter is told.
func StageOf(s State, closeReason string) ReporterStage {
	switch s {
	case StateTriage:
		return StageConfirmed
	case StateFixing:
		return StageFixing
	case StateDisclosed:
		return StagePublished
	case StateClosed:
		if closeReason == "fixed" {
			return StagePublished
		}
		return StageClosed
	default:
		return StageReceived
	}
}

// ReporterView is everything a status link shows: the reference, the
// stage and dates. Nothing of the report, the team or the discussion.
type ReporterView struct {
	Reference string
	Stage     ReporterStage
	// Reached holds the date each stage was first reached.
	Reached map[ReporterStage]time.Time
	// Closed says why a closed report ended: "rejected", "duplicate",
	// "wontfix" (never the id of another incident).
	Closed       string
	FollowUps    int
	LastFollowUp time.Time
}

// NewStatusToken makes a status link's secret and the hash it is stored
// under.
func NewStatusToken() (token, hash string) {
	b := make([]byte, statusTokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashStatusToken(token)
}

// HashStatusToken is how a token is stored and looked up: the database
// alone does not open any status page.
func HashStatusToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// StatusLinks reports whether status links are configured.
func (in *Intake) StatusLinks() bool { return in.opts.Status != nil && in.opts.StatusURL != "" }

// IssueStatus makes a new status link for an incident and returns its
// URL (the base URL and the token). Each call makes another link; all stay
// valid until revoked.
func (in *Intake) IssueStatus(ctx context.Context, incidentID int64) (string, error) {
	if !in.StatusLinks() {
		return "", Errorf(KindInvalid, "Status links are not configured ([server] public_url).")
	}
	return in.issueStatus(ctx, in.opts.Status, incidentID)
}

// issueStatus is IssueStatus storing the token through w (intake's
// transaction, or the store).
func (in *Intake) issueStatus(ctx context.Context, w interface {
	AddStatusToken(ctx context.Context, hash string, incidentID int64, at time.Time) error
}, incidentID int64) (string, error) {
	token, hash := NewStatusToken()
	if err := w.AddStatusToken(ctx, hash, incidentID, in.svc.clock.Now()); err != nil {
		return "", fmt.Errorf("storing a status link: %w", err)
	}
	return in.opts.StatusURL + token, nil
}

// statusIncident resolves a token. Every failure reads the same to the
// client: an unknown, revoked or malformed link.
func (in *Intake) statusIncident(ctx context.Context, token string) (*Incident, error) {
	notFound := Errorf(KindNotFound, "This status link is not valid (it may have been revoked).")
	if !in.StatusLinks() || len(token) < 22 || len(token) > 128 {
		return nil, notFound
	}
	id, err := in.opts.Status.StatusToken(ctx, HashStatusToken(token))
	if err != nil {
		if KindOf(err) == KindNotFound {
			return nil, notFound
		}
		return nil, err
	}
	return in.store.Incident(ctx, id)
}

// StatusView is what the status link of token shows.
func (in *Intake) StatusView(ctx context.Context, token string) (*ReporterView, error) {
	inc, err := in.statusIncident(ctx, token)
	if err != nil {
		return nil, err
	}
	events, err := in.svc.store.Events(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	v := &ReporterView{Reference: inc.Name(), Stage: StageOf(inc.State, inc.CloseReason),
		Reached: map[ReporterStage]time.Time{StageReceived: inc.Created}}
	for _, ev := range events {
		switch ev.Kind {
		case EventState:
			move, _, _ := strings.Cut(ev.Details, ": ")
			_, to, ok := strings.Cut(move, " → ")
			if !ok {
				continue
			}
			state, reason, _ := strings.Cut(to, " (")
			st := StageOf(State(state), strings.TrimSuffix(reason, ")"))
			if _, seen := v.Reached[st]; !seen {
				v.Reached[st] = ev.At
			}
		case EventFollowUp:
			v.FollowUps++
			v.LastFollowUp = ev.At
		}
	}
	if v.Stage == StageClosed {
		switch {
		case strings.HasPrefix(inc.CloseReason, "duplicate"):
			v.Closed = "duplicate"
		case inc.CloseReason == "rejected", inc.CloseReason == "wontfix":
			v.Closed = inc.CloseReason
		default:
			v.Closed = "closed"
		}
	}
	return v, nil
}

// AddFollowUp appends what the reporter sent through their status link to
// the incident, through the pipeline every follow-up takes: it must
// decode like a report (encrypted in the browser or sealed here), is
// stored like a report, and joins the incident as a follow-up (timeline,
// notice, assignee ping; `show` shows it). Unlike mail it is refused,
// not quarantined, when it cannot be read: the reporter is there to see
// why.
func (in *Intake) AddFollowUp(ctx context.Context, token, source string, raw []byte) (*ReporterView, error) {
	inc, err := in.statusIncident(ctx, token)
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > in.opts.MaxMessageBytes {
		return nil, Errorf(KindInvalid, "The message is larger than %d bytes.", in.opts.MaxMessageBytes)
	}
	have, err := in.opts.Status.CountFollowUps(ctx, inc.ID, FollowUpByStatus)
	if err != nil {
		return nil, err
	}
	if have >= MaxFollowUps {
		return nil, Errorf(KindInvalid, "This report has taken %d additions already; please write to the security team by mail.", MaxFollowUps)
	}
	rep, err := in.decode(raw)
	if rej, ok := AsRejection(err); ok {
		return nil, Errorf(KindInvalid, "The addition could not be read: %s.", EscapeControl(rej.Error(), false))
	}
	if err != nil {
		return nil, err
	}
	if !rep.Encrypted() && in.opts.RequireEncryption {
		return nil, Errorf(KindInvalid, "The addition is not encrypted to the team key, and this desk takes only encrypted reports.")
	}
	// Stored and linked in one transaction, as every message intake takes.
	kept, err := in.keep(source, raw, in.envelope(raw))
	if err != nil {
		return nil, fmt.Errorf("storing a follow-up: %w", err)
	}
	err = in.store.InReportTx(ctx, func(tx ReportTx) error {
		id, dup, err := tx.KeepReport(ctx, kept)
		if err != nil {
			return fmt.Errorf("storing a follow-up: %w", err)
		}
		if dup {
			out, err := in.store.ReportOutcome(ctx, id)
			if err != nil {
				return fmt.Errorf("reading report %d: %w", id, err)
			}
			if out.Finished || out.IncidentID != 0 || out.QuarantineID != 0 {
				return nil // sent before, byte for byte
			}
		}
		_, err = in.followUp(ctx, tx, id, source, rep, threadMatch{incident: inc, by: FollowUpByStatus})
		return err
	})
	if err != nil {
		return nil, err
	}
	in.svc.wake()
	return in.StatusView(ctx, token)
}

// RevokeStatus revokes every status link of an incident: for a link
// that leaked, or a reporter who asks. The change is authorised and
// recorded first, then the links die; it returns how many were live. A
// new acknowledgement or form answer makes a new one.
func (s *Service) RevokeStatus(ctx context.Context, a Actor, rule Rule, store StatusStore, id int64) (int, Outcome, error) {
	if store == nil {
		return 0, Outcome{}, Errorf(KindInvalid, "Status links are not configured (they need the team key and [server] public_url).")
	}
	out, err := s.update(ctx, a, rule, "revoke its status links", id, func(st *Settings, inc *Incident, ch *Change) (bool, error) {
		ch.Events = append(ch.Events, s.event(a, EventStatusRevoked, "every status link of the reporter revoked"))
		return true, nil
	})
	if err != nil {
		return 0, out, err
	}
	n, err := store.RevokeStatusTokens(ctx, id, s.clock.Now())
	return n, out, err
}

// StatusStore returns the store of status links, nil when they are not
// configured.
func (in *Intake) StatusStore() StatusStore {
	if !in.StatusLinks() {
		return nil
	}
	return in.opts.Status
}

// StageMeaning says what a stage means, in the reporter's words: for the
// status page and the stage mails.
func StageMeaning(s ReporterStage) string {
	return map[ReporterStage]string{
		StageReceived:  "The security team has your report and will look at it soon",
		StageConfirmed: "The security team acknowledged your report and is assessing it",
		StageFixing:    "The team confirmed the vulnerability and is preparing a fix",
		StagePublished: "The fix and the advisory are published",
		StageClosed:    "The report was closed without a fix",
	}[s]
}

// reporterStageMail is the mail that tells the reporter their report
// reached another stage, when [intake] notify_reporter is on. It says the
// reference and the stage, nothing of the report or the team, and is
// encrypted to the reporter's key when one is known (by the deliverer).
// Each stage is announced once.
func reporterStageMail(st *Settings, before, inc *Incident) []OutboxMessage {
	from, to := StageOf(before.State, before.CloseReason), StageOf(inc.State, inc.CloseReason)
	if !st.NotifyReporter || !st.ReporterMail || from == to || inc.Reporter == "" {
		return nil
	}
	if addr, err := mail.ParseAddress(inc.Reporter); err != nil || addr.Address != inc.Reporter {
		return nil
	}
	var t Text
	t.Plain("Hello,").Line().Line()
	t.Plain(fmt.Sprintf("your report %s is now %s. %s.", inc.Name(), to, StageMeaning(to))).Line().Line()
	t.Plain("The security team")
	return []OutboxMessage{{
		Dest:       Destination{Platform: PlatformEmail, Address: inc.Reporter},
		Kind:       MessageMail,
		IncidentID: inc.ID,
		Text:       t,
		DedupeKey:  fmt.Sprintf("stage|%d|%s", inc.ID, to),
	}}
}
