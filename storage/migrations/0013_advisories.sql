-- Advisories (issue 13): one draft per incident, its review and its way to
-- publication.
CREATE TABLE advisories (
    incident_id      INTEGER PRIMARY KEY REFERENCES incidents(id),
    -- CONFIDENTIAL until published: the draft (bot.Advisory as JSON, without
    -- its approvals). Every read and write is in storage/advisories.go, so
    -- the storage seal covers it there.
    draft            TEXT    NOT NULL,
    approvals        TEXT    NOT NULL DEFAULT '[]', -- JSON: []bot.Approval
    publish_at       INTEGER,                       -- scheduled publication, ms
    scheduled_by     TEXT    NOT NULL DEFAULT '',
    published_at     INTEGER,                       -- set once published (public from then on)
    distros_at       INTEGER,                       -- draft sent to the distros list
    announced        TEXT    NOT NULL DEFAULT '[]', -- JSON: list addresses the announcement reached
    updated_at       INTEGER NOT NULL
);
-- The scheduled publications still to run.
CREATE INDEX advisories_due ON advisories(publish_at) WHERE publish_at IS NOT NULL AND published_at IS NULL;
