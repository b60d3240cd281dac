-- What the Mattermost adapter must remember across restarts.

-- Configured usernames pinned to the account id first seen for them: a
-- renamed or recycled username must not hand someone's rights to another
-- account, so a later mismatch is reported, not followed.
CREATE TABLE mattermost_users (
    username   TEXT    PRIMARY KEY,           -- as configured, lower case
    user_id    TEXT    NOT NULL,
    pinned_at  INTEGER NOT NULL
);

-- The private channel made for an incident (channel_per_incident).
CREATE TABLE mattermost_channels (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
    channel_id  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Posts made for outbox messages, part by part, so that a retry resumes a
-- long message instead of posting it twice. A post with buttons has a
-- nonce: its buttons' signed context names it, and every click that is
-- acted on replaces it, so a replayed callback finds nothing.
CREATE TABLE mattermost_posts (
    post_id     TEXT    PRIMARY KEY,
    outbox_id   INTEGER NOT NULL,
    part        INTEGER NOT NULL,
    channel_id  TEXT    NOT NULL,
    incident_id INTEGER REFERENCES incidents(id),
    nonce       TEXT    UNIQUE,
    created_at  INTEGER NOT NULL,
    UNIQUE (outbox_id, part)
);
CREATE INDEX mattermost_posts_buttons ON mattermost_posts(incident_id) WHERE nonce IS NOT NULL;
