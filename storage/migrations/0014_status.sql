-- The reporter's side (issue 14): private status links, kept only as the
-- SHA-256 of their secret, and the information reporters add through
-- them, kept like reports: as received when encrypted, else sealed.
CREATE TABLE status_tokens (
	hash        TEXT PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents(id),
	created_at  INTEGER NOT NULL,
	revoked_at  INTEGER
);
CREATE INDEX status_tokens_incident ON status_tokens(incident_id);

CREATE TABLE followups (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents(id),
	received_at INTEGER NOT NULL,
	source      TEXT NOT NULL,
	raw         BLOB NOT NULL,
	sealed      INTEGER NOT NULL
);
CREATE INDEX followups_incident ON followups(incident_id);
