-- Intake (issue 4): sealed reports, the state of each report in the
-- pipeline, one incident per report, and the quarantine of rejected
-- messages.

-- raw of a sealed report is the message as received, encrypted to the team
-- key by sectriage because it may hold plaintext.
ALTER TABLE reports ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
-- Set once the report's incident (and its acknowledgement) or quarantine
-- entry is committed. NULL: interrupted; intake finishes it.
ALTER TABLE reports ADD COLUMN finished_at INTEGER;
-- Reports stored before intake existed were handled by whoever stored them.
UPDATE reports SET finished_at = received_at;
CREATE INDEX reports_unfinished ON reports(received_at) WHERE finished_at IS NULL;

-- A re-delivered or resumed report can never open a second incident.
CREATE UNIQUE INDEX incidents_one_per_report ON incidents(report_id) WHERE report_id IS NOT NULL;

CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    report_id   INTEGER REFERENCES reports(id),  -- NULL: too large to store
    dedupe_key  TEXT    NOT NULL UNIQUE,         -- a re-delivery finds its entry here
    sender      TEXT    NOT NULL DEFAULT '',     -- as the message claims (untrusted)
    message_id  TEXT    NOT NULL DEFAULT '',
    size        INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL,                -- a code: wrong-key, integrity-failed, ...
    detail      TEXT    NOT NULL DEFAULT ''      -- never message content
);
CREATE UNIQUE INDEX quarantine_report ON quarantine(report_id) WHERE report_id IS NOT NULL;
