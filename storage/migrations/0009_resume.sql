-- Connections that resume (issue 12).

-- How many parts (IRC lines) of a message reached the server in earlier
-- attempts: a retry after a lost connection starts after them instead of
-- repeating the message from its first line.
ALTER TABLE outbox ADD COLUMN sent_parts INTEGER NOT NULL DEFAULT 0;

-- Posts the Mattermost adapter has taken as commands (direct messages),
-- by post id: each is run once, whether it came over the websocket or
-- was fetched after a reconnect, and the newest create_at is where the
-- next catch-up starts, after a daemon restart too. Rows older than the
-- catch-up window are pruned.
CREATE TABLE mattermost_seen_posts (
    post_id    TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    created_at INTEGER NOT NULL -- the post's create_at, Unix ms
);
CREATE INDEX mattermost_seen_posts_created ON mattermost_seen_posts(created_at);
