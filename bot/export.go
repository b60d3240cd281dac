package bot

import "context"

// EventExported records that an incident's whole record left the
// database in the clear (sectriage export -incident), and who took it.
const EventExported = "exported"

// IncidentRecord is everything the team keeps about an incident: the
// incident, its timeline (discussion, notes, replies, follow-ups) and its
// advisory draft.
type IncidentRecord struct {
	Incident *Incident
	Events   []Event
	Advisory *AdvisoryRecord
}

// ExportIncident records in the timeline that the incident is exported
// and by whom (whoever ran the export on the server: an operating-system
// user, not a chat identity) and where to, then returns the whole record, that entry
// included. The entry is written first, so no export goes unrecorded.
func (s *Service) ExportIncident(ctx context.Context, id int64, by, to string) (IncidentRecord, error) {
	ev := s.event(SystemActor(), EventExported, "exported in the clear by "+by+" to "+to+" (sectriage export)")
	if _, err := s.store.UpdateIncident(ctx, id, func(inc *Incident) (Change, error) {
		ev.IncidentID = inc.ID
		return Change{Events: []Event{ev}}, nil
	}); err != nil {
		return IncidentRecord{}, err
	}
	inc, rec, err := s.AdvisoryDraft(ctx, SystemActor(), id)
	if err != nil {
		return IncidentRecord{}, err
	}
	events, err := s.store.Events(ctx, id)
	if err != nil {
		return IncidentRecord{}, err
	}
	return IncidentRecord{Incident: inc, Events: events, Advisory: rec}, nil
}
