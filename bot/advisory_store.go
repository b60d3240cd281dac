package bot

import (
	"context"
	"time"
)

// AdvisoryRecord is an incident's stored advisory draft and where it
// stands on the way to publication.
type AdvisoryRecord struct {
	Draft Advisory
	// Stored is false for a draft nobody has edited yet: a fresh one
	// made from the incident by NewAdvisory.
	Stored bool
	// PublishAt is when a scheduled publication runs; zero when none.
	PublishAt   time.Time
	ScheduledBy string
	// DistrosNotified is when the draft went to the distros list; zero
	// when it did not.
	DistrosNotified time.Time
	// Announced lists the list addresses the announcement reached, so a
	// re-run of the publication mails only the lists it missed.
	Announced []string
}

// IsPublished reports whether the advisory was published.
func (r *AdvisoryRecord) IsPublished() bool { return !r.Draft.Published.IsZero() }

// AdvisoryStore is what the advisory commands need from storage. Drafts
// are confidential until published: the store seals them like the other
// confidential fields.
type AdvisoryStore interface {
	// UpdateAdvisory runs fn on the incident and its advisory inside one
	// write transaction, like UpdateIncident; rec is a fresh draft
	// (Stored false) when none was stored. Both are written back, with
	// the change's events and messages.
	UpdateAdvisory(ctx context.Context, id int64, fn func(inc *Incident, rec *AdvisoryRecord) (Change, error)) (*Incident, *AdvisoryRecord, error)
	// AdvisoryRecord returns the stored advisory of an incident, or a
	// KindNotFound error when none is stored.
	AdvisoryRecord(ctx context.Context, id int64) (*AdvisoryRecord, error)
	// PublishedAdvisories returns every published advisory.
	PublishedAdvisories(ctx context.Context) ([]Advisory, error)
	// DueAdvisories lists the incidents whose scheduled publication is
	// due at now and not yet done.
	DueAdvisories(ctx context.Context, now time.Time) ([]int64, error)
	// MarkAnnounced records that the announcement reached address.
	MarkAnnounced(ctx context.Context, id int64, address string) error
}

// advisories is the service's store as an AdvisoryStore: storage.DB is
// both; a store without drafts makes the advisory commands say so.
func (s *Service) advisories() (AdvisoryStore, error) {
	st, ok := s.store.(AdvisoryStore)
	if !ok {
		return nil, Errorf(KindInternal, "this store keeps no advisory drafts")
	}
	return st, nil
}

// PublicationReport is what a publication run did.
type PublicationReport struct {
	Advisory Advisory
	// Published is set when this run published it; false on a re-run.
	Published bool
	// ReporterTold is set when the reporter's mail was queued.
	ReporterTold bool
	Dir          string   // where the files were written; empty when none configured
	Files        []string // written, relative to Dir
	Announced    []string // lists mailed by this run
	// Problems are the outputs that failed; the run can go again.
	Problems []string
}
