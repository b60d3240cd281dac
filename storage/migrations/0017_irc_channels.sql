-- The private IRC channel made for an incident (irc.channel_per_incident).
-- The key is the one the bot set (+k) and joins with: sealed, since it
-- opens the channel where the incident is discussed. archived_at is set
-- when the incident closed and the channel was dropped and left; an
-- archived name is never used again.
CREATE TABLE irc_channels (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
    channel     TEXT    NOT NULL UNIQUE,
    key         BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    archived_at INTEGER
);
