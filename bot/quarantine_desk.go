package bot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"
)

// QuarantineStore is what the quarantine desk needs from storage.
type QuarantineStore interface {
	// QuarantineList returns the entries, newest first.
	QuarantineList(ctx context.Context, limit int) ([]Quarantined, error)
	QuarantineEntry(ctx context.Context, id int64) (*Quarantined, error)
	// ReleaseQuarantine marks the entry released and its report
	// unfinished, in one transaction, so intake takes the report again
	// (and Resume finishes it should this process stop halfway). A
	// dropped or already released entry is a conflict.
	ReleaseQuarantine(ctx context.Context, id int64, by string, at time.Time) error
	// DropQuarantine records the decision to discard the entry; a dropped
	// or released entry is a conflict.
	DropQuarantine(ctx context.Context, id int64, by, reason string, at time.Time) error
	// PurgeQuarantine deletes entries dropped before cutoff, with their
	// stored copies, and returns how many it deleted.
	PurgeQuarantine(ctx context.Context, cutoff time.Time) (int, error)
}

// DefaultQuarantineRetention is how long a dropped entry is kept before
// it is deleted, unless configured.
const DefaultQuarantineRetention = 30 * 24 * time.Hour

// maxShownHeader bounds the header `quarantine show` prints: the message
// failed the checks, so its size proves nothing.
const maxShownHeader = 16 << 10

// QuarantineDesk is the officers' view of rejected messages: list them,
// look at their headers (never their content: it could not be trusted),
// release one into intake again, or drop it.
type QuarantineDesk struct {
	in        *Intake
	store     QuarantineStore
	retention time.Duration
	log       *slog.Logger
}

// NewQuarantineDesk makes the desk for an intake pipeline. Dropped entries
// are deleted after retention (DefaultQuarantineRetention when 0).
func NewQuarantineDesk(in *Intake, store QuarantineStore, retention time.Duration, log *slog.Logger) *QuarantineDesk {
	if retention <= 0 {
		retention = DefaultQuarantineRetention
	}
	return &QuarantineDesk{in: in, store: store, retention: retention, log: log.With("component", "quarantine")}
}

// Retention is how long dropped entries are kept.
func (d *QuarantineDesk) Retention() time.Duration { return d.retention }

// Now is the desk's clock, for ages.
func (d *QuarantineDesk) Now() time.Time { return d.in.svc.clock.Now() }

// List returns the newest entries first.
func (d *QuarantineDesk) List(ctx context.Context, a Actor, rule Rule, limit int) ([]Quarantined, error) {
	if err := rule.Check(a, Scope{Team: Officers}, "see the quarantine"); err != nil {
		return nil, err
	}
	return d.store.QuarantineList(ctx, limit)
}

// QuarantineView is one entry with the header of its stored message.
type QuarantineView struct {
	Entry Quarantined
	// Header is the message's header as received (untrusted), cut at
	// maxShownHeader; empty with HeaderNote saying why when there is none.
	Header     string
	Truncated  bool
	HeaderNote string
}

// Show returns an entry and its message's header. The body is never
// decoded: it failed the checks that make content safe to show.
func (d *QuarantineDesk) Show(ctx context.Context, a Actor, rule Rule, id int64) (*QuarantineView, error) {
	if err := rule.Check(a, Scope{Team: Officers}, "see the quarantine"); err != nil {
		return nil, err
	}
	q, err := d.store.QuarantineEntry(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &QuarantineView{Entry: *q}
	switch {
	case q.ReportID == 0:
		v.HeaderNote = "The message was too large to store; only what is listed above is known."
	default:
		kept, err := d.in.store.KeptReport(ctx, q.ReportID)
		if err != nil {
			return nil, err
		}
		raw, err := d.in.raw(kept)
		if err != nil {
			d.log.Warn("a quarantined report cannot be unsealed", "quarantine", id, "report", q.ReportID, "err", err)
			v.HeaderNote = "The stored copy is sealed to a team key that is no longer configured."
			break
		}
		v.Header, v.Truncated = messageHeader(raw)
	}
	return v, nil
}

// messageHeader is the header section of a message: up to the first empty
// line, at most maxShownHeader bytes.
func messageHeader(raw []byte) (string, bool) {
	end := len(raw)
	for _, sep := range [][]byte{[]byte("\r\n\r\n"), []byte("\n\n")} {
		if i := bytes.Index(raw, sep); i >= 0 && i < end {
			end = i
		}
	}
	truncated := end > maxShownHeader
	if truncated {
		end = maxShownHeader
	}
	return string(bytes.ReplaceAll(raw[:end], []byte("\r\n"), []byte("\n"))), truncated
}

// Release runs an entry's stored message through intake again, as if it
// had just arrived: after a key was added or a limit raised it becomes an
// incident; otherwise the same entry is quarantined again with the reason
// of now.
func (d *QuarantineDesk) Release(ctx context.Context, a Actor, rule Rule, id int64) (IntakeResult, error) {
	if err := rule.Check(a, Scope{Team: Officers}, "release a quarantined message"); err != nil {
		return IntakeResult{}, err
	}
	q, err := d.store.QuarantineEntry(ctx, id)
	if err != nil {
		return IntakeResult{}, err
	}
	if err := q.decided(); err != nil {
		return IntakeResult{}, err
	}
	if q.ReportID == 0 {
		return IntakeResult{}, Errorf(KindConflict, "%s was too large to store, so there is nothing to release; ask the sender to send it again (and raise [intake] max_message_size if it should fit).", q.Name())
	}
	kept, err := d.in.store.KeptReport(ctx, q.ReportID)
	if err != nil {
		return IntakeResult{}, err
	}
	raw, err := d.in.raw(kept)
	if err != nil {
		d.log.Warn("a quarantined report cannot be unsealed", "quarantine", id, "report", q.ReportID, "err", err)
		return IntakeResult{}, Errorf(KindConflict, "%s cannot be released: its stored copy is sealed to a team key that is no longer configured.", q.Name())
	}
	if err := d.store.ReleaseQuarantine(ctx, id, a.Name(), d.Now()); err != nil {
		return IntakeResult{}, err
	}
	d.log.Info("quarantine entry released", "quarantine", id, "report", q.ReportID, "by", a.Name())
	note := fmt.Sprintf("; released from quarantine %s (%s) by %s", q.Name(), q.Reason, a.Name())
	return d.in.process(ctx, q.ReportID, kept.Source, raw, d.in.envelope(raw), note)
}

// Drop records that an entry is to be discarded; its stored copy is
// deleted once the retention period has passed.
func (d *QuarantineDesk) Drop(ctx context.Context, a Actor, rule Rule, id int64, reason string) (*Quarantined, error) {
	if err := rule.Check(a, Scope{Team: Officers}, "drop a quarantined message"); err != nil {
		return nil, err
	}
	if reason == "" {
		return nil, Errorf(KindInvalid, "Say why it is dropped: quarantine drop Q-%d <reason>", id)
	}
	q, err := d.store.QuarantineEntry(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := q.decided(); err != nil {
		return nil, err
	}
	if err := d.store.DropQuarantine(ctx, id, a.Name(), reason, d.Now()); err != nil {
		return nil, err
	}
	d.log.Info("quarantine entry dropped", "quarantine", id, "by", a.Name())
	return d.store.QuarantineEntry(ctx, id)
}

// decided refuses a second decision on an entry.
func (q *Quarantined) decided() error {
	switch {
	case !q.DroppedAt.IsZero():
		return Errorf(KindConflict, "%s was dropped by %s.", q.Name(), orNobody(q.DroppedBy))
	case !q.ReleasedAt.IsZero() && q.IncidentID != 0:
		return Errorf(KindConflict, "%s was released by %s and became %s.", q.Name(), orNobody(q.ReleasedBy), FormatID(q.IncidentID))
	case !q.ReleasedAt.IsZero():
		return Errorf(KindConflict, "%s was released by %s and is being taken in now.", q.Name(), orNobody(q.ReleasedBy))
	}
	return nil
}

// Purge deletes the entries dropped longer ago than the retention period,
// with their stored copies: the scheduled job.
func (d *QuarantineDesk) Purge(ctx context.Context) error {
	n, err := d.store.PurgeQuarantine(ctx, d.Now().Add(-d.retention))
	if n > 0 {
		d.log.Info("deleted dropped quarantine entries", "count", n, "retention", FormatDuration(d.retention))
	}
	return err
}
