package storage

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// The Mattermost adapter's memory (migration 0004). Plain values in and
// out, so that the adapter declares the interface it needs without
// importing this package.

// MattermostUserPins returns every pinned username (lower case) → user id.
func (db *DB) MattermostUserPins(ctx context.Context) (map[string]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT username, user_id FROM mattermost_users`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, id string
		if err := rows.Scan(&name, &id); err != nil {
			return nil, err
		}
		out[name] = id
	}
	return out, rows.Err()
}

// PinMattermostUser records username → userID unless the username is
// already pinned, and returns the id pinned now (the earlier one if any).
func (db *DB) PinMattermostUser(ctx context.Context, username, userID string, at time.Time) (string, error) {
	username = strings.ToLower(username)
	var pinned string
	err := db.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mattermost_users(username, user_id, pinned_at) VALUES (?, ?, ?)
			ON CONFLICT (username) DO NOTHING`, username, userID, at.UnixMilli()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT user_id FROM mattermost_users WHERE username = ?`, username).Scan(&pinned)
	})
	return pinned, err
}

// UnpinMattermostUser forgets a username's pinned id, so that the next
// start pins the account the username names then.
func (db *DB) UnpinMattermostUser(ctx context.Context, username string) (bool, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM mattermost_users WHERE username = ?`, strings.ToLower(username))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// MattermostIncidentChannel returns the channel made for an incident, or "".
func (db *DB) MattermostIncidentChannel(ctx context.Context, incidentID int64) (string, error) {
	var id string
	err := db.read.QueryRowContext(ctx, `SELECT channel_id FROM mattermost_channels WHERE incident_id = ?`, incidentID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// SetMattermostIncidentChannel records the channel made for an incident.
func (db *DB) SetMattermostIncidentChannel(ctx context.Context, incidentID int64, channelID string, at time.Time) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO mattermost_channels(incident_id, channel_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (incident_id) DO UPDATE SET channel_id = excluded.channel_id`, incidentID, channelID, at.UnixMilli())
	return err
}

// MattermostIncidentChannels returns channel id → incident id for every
// incident channel, for the adapter's watch list.
func (db *DB) MattermostIncidentChannels(ctx context.Context) (map[string]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT channel_id, incident_id FROM mattermost_channels`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var ch string
		var inc int64
		if err := rows.Scan(&ch, &inc); err != nil {
			return nil, err
		}
		out[ch] = inc
	}
	return out, rows.Err()
}

// RecordMattermostPost remembers a post made for part of an outbox
// message; nonce is "" for a post without buttons, incidentID 0 for none.
func (db *DB) RecordMattermostPost(ctx context.Context, outboxID int64, part int, postID, channelID string, incidentID int64, nonce string, at time.Time) error {
	var inc, n any
	if incidentID != 0 {
		inc = incidentID
	}
	if nonce != "" {
		n = nonce
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO mattermost_posts(post_id, outbox_id, part, channel_id, incident_id, nonce, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, postID, outboxID, part, channelID, inc, n, at.UnixMilli())
	return err
}

// MattermostPostedParts returns part → post id of what was already posted
// for an outbox message.
func (db *DB) MattermostPostedParts(ctx context.Context, outboxID int64) (map[int]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT part, post_id FROM mattermost_posts WHERE outbox_id = ?`, outboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var part int
		var id string
		if err := rows.Scan(&part, &id); err != nil {
			return nil, err
		}
		out[part] = id
	}
	return out, rows.Err()
}

// MattermostButtonPost returns the post, channel, incident and current
// nonce of a post with buttons; postID "" when there is none.
func (db *DB) MattermostButtonPost(ctx context.Context, postID string) (channelID string, incidentID int64, nonce string, err error) {
	var inc sql.NullInt64
	err = db.read.QueryRowContext(ctx, `SELECT channel_id, incident_id, nonce FROM mattermost_posts
		WHERE post_id = ? AND nonce IS NOT NULL`, postID).Scan(&channelID, &inc, &nonce)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, "", nil
	}
	return channelID, inc.Int64, nonce, err
}

// MattermostButtonPosts returns post id → channel id of every post with
// buttons for an incident.
func (db *DB) MattermostButtonPosts(ctx context.Context, incidentID int64) (map[string]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT post_id, channel_id FROM mattermost_posts
		WHERE incident_id = ? AND nonce IS NOT NULL`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var p, c string
		if err := rows.Scan(&p, &c); err != nil {
			return nil, err
		}
		out[p] = c
	}
	return out, rows.Err()
}

// SwapMattermostNonce replaces a post's nonce if it still is old. Only one
// of several concurrent swaps of the same nonce succeeds.
func (db *DB) SwapMattermostNonce(ctx context.Context, postID, old, next string) (bool, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE mattermost_posts SET nonce = ? WHERE post_id = ? AND nonce = ?`, next, postID, old)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ClaimMattermostPost records that the post is being taken as a command
// and reports whether it was new: false means it was taken before (over
// the websocket, or by an earlier catch-up) and must not run again.
func (db *DB) ClaimMattermostPost(ctx context.Context, postID, channelID string, created time.Time) (bool, error) {
	res, err := db.write.ExecContext(ctx, `INSERT INTO mattermost_seen_posts(post_id, channel_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (post_id) DO NOTHING`, postID, channelID, created.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MattermostLastSeenPost returns the create_at of the newest post taken,
// or zero: where the next catch-up starts.
func (db *DB) MattermostLastSeenPost(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MAX(created_at) FROM mattermost_seen_posts`).Scan(&at)
	return fromMS(at), err
}

// PruneMattermostSeenPosts forgets posts created before the given time,
// older than any catch-up looks, keeping the newest so the next catch-up
// still knows where to start.
func (db *DB) PruneMattermostSeenPosts(ctx context.Context, before time.Time) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM mattermost_seen_posts WHERE created_at < ?
		AND created_at < (SELECT MAX(created_at) FROM mattermost_seen_posts)`, before.UnixMilli())
	return err
}
