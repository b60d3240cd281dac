-- The roster: covers and absences, lead hand-overs, the roster's history,
-- and every nag sent (so nobody is asked twice in one period, across
-- restarts). Times are Unix milliseconds (UTC).

CREATE TABLE roster_overrides (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('cover','away')),
    sig        TEXT    NOT NULL DEFAULT '',   -- cover: the SIG, or 'officers'; away: ''
    person     TEXT    NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,              -- moved earlier when someone is back early
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    CHECK (ends_at >= starts_at)
);
CREATE INDEX roster_overrides_end ON roster_overrides(ends_at);

CREATE TABLE handovers (
    id           INTEGER PRIMARY KEY,
    sig          TEXT    NOT NULL,
    from_person  TEXT    NOT NULL,
    to_person    TEXT    NOT NULL,
    config_lead  TEXT    NOT NULL,  -- the config's lead when asked: a later config change wins
    requested_at INTEGER NOT NULL,
    requested_by TEXT    NOT NULL,
    accepted_at  INTEGER,
    cancelled_at INTEGER
);
-- At most one hand-over per SIG waits for acceptance.
CREATE UNIQUE INDEX handovers_pending ON handovers(sig) WHERE accepted_at IS NULL AND cancelled_at IS NULL;

CREATE TABLE roster_events (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    platform TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    sig      TEXT    NOT NULL DEFAULT '',
    person   TEXT    NOT NULL DEFAULT '',
    details  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX roster_events_sig ON roster_events(sig, id);
CREATE TRIGGER roster_events_append_only_update BEFORE UPDATE ON roster_events
BEGIN SELECT RAISE(ABORT, 'roster events are append-only'); END;
CREATE TRIGGER roster_events_append_only_delete BEFORE DELETE ON roster_events
BEGIN SELECT RAISE(ABORT, 'roster events are append-only'); END;

CREATE TABLE nags (
    subject     INTEGER NOT NULL,  -- incident id, hand-over id for 'handover', 0 for reminders
    topic       TEXT    NOT NULL,  -- deadline kind, 'embargo-warning', 'handover', 'reminder', 'reminder-round'
    period_at   INTEGER NOT NULL,  -- when the period (or reminder round) started
    person      TEXT    NOT NULL,  -- '' for a round
    step        TEXT    NOT NULL,  -- assignee, deputy, officers, embargo, handover, reminder
    incident_id INTEGER REFERENCES incidents(id),
    sent_at     INTEGER NOT NULL,
    PRIMARY KEY (subject, topic, period_at, person)
) WITHOUT ROWID;
CREATE INDEX nags_period ON nags(period_at);
CREATE INDEX nags_topic ON nags(topic, period_at);

-- The sweep reads only incidents it may act on.
CREATE INDEX incidents_open_embargo ON incidents(embargo_at) WHERE state <> 'closed' AND embargo_at IS NOT NULL;
CREATE INDEX incidents_manager ON incidents(manager, state);
CREATE INDEX incidents_unacknowledged ON incidents(id) WHERE state = 'new' AND claimed = 0;
