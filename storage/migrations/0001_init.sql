-- Incidents, their append-only timeline, reports as received, and the
-- outbox. Times are Unix milliseconds (UTC); NULL means "not set".

CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    source      TEXT    NOT NULL,            -- imap, pipe, web, demo
    message_id  TEXT,                        -- RFC 5322 Message-ID, when any
    sha256      TEXT    NOT NULL UNIQUE,     -- of raw: duplicate deliveries dedupe here
    raw         BLOB    NOT NULL             -- exactly as received (or encrypted to the team key); never plaintext
);
CREATE UNIQUE INDEX reports_message_id ON reports(message_id) WHERE message_id IS NOT NULL;

CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY,
    title         TEXT    NOT NULL,
    sig           TEXT    NOT NULL,
    severity      TEXT    NOT NULL DEFAULT 'unknown',
    cvss          TEXT    NOT NULL DEFAULT '',
    score         REAL    NOT NULL DEFAULT 0,
    state         TEXT    NOT NULL CHECK (state IN ('new','triage','fixing','disclosed','closed')),
    close_reason  TEXT    NOT NULL DEFAULT '',
    assignee      TEXT    NOT NULL DEFAULT '',
    claimed       INTEGER NOT NULL DEFAULT 0,
    manager       TEXT    NOT NULL DEFAULT '',
    acked_by      TEXT    NOT NULL DEFAULT '',
    acked_at      INTEGER,
    reporter      TEXT    NOT NULL DEFAULT '',
    reporter_key  TEXT    NOT NULL DEFAULT '',
    report_id     INTEGER REFERENCES reports(id),
    encrypted     INTEGER NOT NULL DEFAULT 1,
    cves          TEXT    NOT NULL DEFAULT '',   -- space-separated CVE ids
    embargo_at    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    state_since   INTEGER NOT NULL,
    last_activity INTEGER NOT NULL,
    due_overrides TEXT    NOT NULL DEFAULT '{}', -- JSON: deadline kind -> ms
    due_at        INTEGER,                       -- earliest running deadline, maintained by the service
    due_kind      TEXT    NOT NULL DEFAULT '',
    snoozed_until INTEGER
);
CREATE INDEX incidents_open_due ON incidents(due_at) WHERE state <> 'closed';
CREATE INDEX incidents_sig ON incidents(sig, state);
CREATE INDEX incidents_assignee ON incidents(assignee, state);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    platform    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    details     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_incident ON events(incident_id, id);
-- The timeline is evidence: it is never rewritten.
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    created_at      INTEGER NOT NULL,
    platform        TEXT    NOT NULL,
    channel         TEXT    NOT NULL DEFAULT '',
    person          TEXT    NOT NULL DEFAULT '',
    address         TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL,
    incident_id     INTEGER REFERENCES incidents(id),
    body            TEXT    NOT NULL,            -- JSON of bot.Text
    confidential    INTEGER NOT NULL DEFAULT 0,
    dedupe_key      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    delivered_at    INTEGER,
    dead_at         INTEGER
);
CREATE UNIQUE INDEX outbox_dedupe ON outbox(dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX outbox_pending ON outbox(next_attempt_at, id) WHERE delivered_at IS NULL AND dead_at IS NULL;
