-- The quarantine desk (issue 14): officers release an entry into intake
-- again or drop it; dropped entries are deleted after the retention period.
ALTER TABLE quarantine ADD COLUMN released_at INTEGER;            -- NULL: not released (or rejected again since)
ALTER TABLE quarantine ADD COLUMN released_by TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN dropped_at  INTEGER;            -- NULL: not dropped
ALTER TABLE quarantine ADD COLUMN dropped_by  TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN drop_reason BLOB;               -- sealed; NULL: not dropped
CREATE INDEX quarantine_dropped ON quarantine(dropped_at) WHERE dropped_at IS NOT NULL;

-- Threads (issue 14): every mail sent about an incident, so a reply that
-- names its Message-ID finds the incident, and the hash of the reply token
-- its Reply-To carried (security+<token>@...). The token itself is never
-- stored.
CREATE TABLE sent_mail (
    message_id       TEXT    PRIMARY KEY,
    incident_id      INTEGER NOT NULL REFERENCES incidents(id),
    reply_token_hash TEXT    UNIQUE,
    sent_at          INTEGER NOT NULL
);
CREATE INDEX sent_mail_incident ON sent_mail(incident_id);

-- A stored report that joined an incident as the reporter's follow-up.
CREATE TABLE followups (
    report_id   INTEGER PRIMARY KEY REFERENCES reports(id),
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    matched_by  TEXT    NOT NULL,   -- reply-address, in-reply-to
    received_at INTEGER NOT NULL
);
CREATE INDEX followups_incident ON followups(incident_id, received_at);
