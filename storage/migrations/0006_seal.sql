-- Sealing (issue 11): confidential columns are encrypted with a data key
-- that is stored only wrapped (OpenPGP-encrypted) to the team key. The
-- key is made, and a database of an older schema sealed in place, the
-- first time sectriage opens the database with the team key (storage/seal.go);
-- a migration cannot do it because it runs without the key.
CREATE TABLE data_keys (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    wrapped    BLOB    NOT NULL,   -- the AES-256 data key, encrypted to the team key
    team_key   TEXT    NOT NULL,   -- fingerprint of the team key it is wrapped to
    created_at INTEGER NOT NULL
);
