-- The quarantine desk (issue 14): officers release an entry into intake
-- again or drop it; dropped entries are deleted after the retention period.
ALTER TABLE quarantine ADD COLUMN released_at INTEGER;            -- NULL: not released (or rejected again since)
ALTER TABLE quarantine ADD COLUMN released_by TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN dropped_at  INTEGER;            -- NULL: not dropped
ALTER TABLE quarantine ADD COLUMN dropped_by  TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN drop_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX quarantine_dropped ON quarantine(dropped_at) WHERE dropped_at IS NOT NULL;
