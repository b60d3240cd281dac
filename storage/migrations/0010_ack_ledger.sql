-- The public surface (issue 11): the web form acknowledges one address at
-- most once a day. The address is kept only as an HMAC under a secret
-- derived from the team key, so this table names nobody.
CREATE TABLE ack_ledger (
    address_hmac    BLOB PRIMARY KEY,
    acknowledged_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ack_ledger_at ON ack_ledger(acknowledged_at);
