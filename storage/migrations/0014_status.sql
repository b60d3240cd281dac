-- The reporter's side (issue 14): private status links, kept only as the
-- SHA-256 of their secret. What reporters add through them is a follow-up
-- like a reply by mail (table followups, 0015, matched_by 'status-page').
CREATE TABLE status_tokens (
	hash        TEXT PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents(id),
	created_at  INTEGER NOT NULL,
	revoked_at  INTEGER
);
CREATE INDEX status_tokens_incident ON status_tokens(incident_id);
