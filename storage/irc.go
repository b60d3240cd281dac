package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The IRC adapter's per-incident channels (migration 0017), plain values
// in and out like the Mattermost adapter's memory.

// IRCIncidentChannel returns the channel made for an incident and its key;
// name "" when there is none. archived is true once the incident closed
// and the channel was given up.
func (db *DB) IRCIncidentChannel(ctx context.Context, incidentID int64) (name, key string, archived bool, err error) {
	var sealed []byte
	var at sql.NullInt64
	err = db.read.QueryRowContext(ctx, `SELECT channel, key, archived_at FROM irc_channels WHERE incident_id = ?`,
		incidentID).Scan(&name, &sealed, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	key, err = db.openString(cell{"irc_channels", "key", incidentID}, sealed)
	return name, key, at.Valid, err
}

// SetIRCIncidentChannel records the channel chosen for an incident, before
// it is made, so that a retry makes the same one. It returns false when the
// incident has one already or the name is taken by another incident.
func (db *DB) SetIRCIncidentChannel(ctx context.Context, incidentID int64, name, key string, at time.Time) (bool, error) {
	sealed, err := db.sealString(cell{"irc_channels", "key", incidentID}, key)
	if err != nil {
		return false, err
	}
	res, err := db.write.ExecContext(ctx, `INSERT INTO irc_channels(incident_id, channel, key, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, incidentID, name, sealed, at.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ArchiveIRCIncidentChannel marks an incident's channel as given up.
func (db *DB) ArchiveIRCIncidentChannel(ctx context.Context, incidentID int64, at time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE irc_channels SET archived_at = ? WHERE incident_id = ? AND archived_at IS NULL`,
		at.UnixMilli(), incidentID)
	return err
}

// IRCLiveChannels returns incident id -> channel of every channel not
// archived: the ones the bot joins when it connects.
func (db *DB) IRCLiveChannels(ctx context.Context) (map[int64]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT incident_id, channel FROM irc_channels WHERE archived_at IS NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}
