-- Held messages (issue 12): a message whose destination fails the privacy
-- rule is kept, with the reason, until the destination is fixed; never
-- given up. held_at is when it was last refused; NULL while it is
-- pending or once delivered.
ALTER TABLE outbox ADD COLUMN held_at INTEGER;
ALTER TABLE outbox ADD COLUMN held_reason TEXT NOT NULL DEFAULT '';
-- Held messages by platform, for /metrics, check and their release.
CREATE INDEX outbox_held ON outbox(platform) WHERE held_at IS NOT NULL AND delivered_at IS NULL AND dead_at IS NULL;
