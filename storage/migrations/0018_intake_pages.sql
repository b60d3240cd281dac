-- Every index on a table is a page each new row dirties, and each dirty
-- page is a 4 KB frame the commit writes and syncs. incidents_unacknowledged
-- (from 0002, for a sweep that walked unclaimed incidents) is read by no
-- query since the sweep reads incidents_next_action (0012): it only cost
-- every new incident a page.
DROP INDEX IF EXISTS incidents_unacknowledged;
