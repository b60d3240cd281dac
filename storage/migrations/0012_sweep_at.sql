-- When the escalation sweep must next look at each open incident (bot
-- Incident.SweepAt): the sweep reads only rows due by this index, not every
-- open incident. Existing open incidents are due at once; the first sweep
-- looks at every open incident anyway and sets each its time.
ALTER TABLE incidents ADD COLUMN next_action_at INTEGER;
UPDATE incidents SET next_action_at = 0 WHERE state <> 'closed';
CREATE INDEX incidents_next_action ON incidents(next_action_at) WHERE state <> 'closed';
