-- Operations (issue 7): /metrics and /readyz read these at every scrape, so
-- they must stay cheap as the database grows, and readiness needs a row it
-- can write to prove the file is writable.

-- Reports received by source: a covering index instead of a scan over
-- every stored message.
CREATE INDEX reports_source ON reports(source);
-- Dead letters: how many, and when the last one died.
CREATE INDEX outbox_dead ON outbox(dead_at) WHERE dead_at IS NOT NULL;

-- One row, rewritten by every health check.
CREATE TABLE health_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
