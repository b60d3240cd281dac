package storage

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"time"
)

// Class says how a stored column is kept at rest.
type Class int

const (
	// Public columns hold nothing from a report or about its reporter:
	// ids, states, times, SIGs, severities, team members' names, chat ids.
	Public Class = iota + 1
	// Sealed columns hold report content or the reporter's identity. They
	// are encrypted with AES-256-GCM under the data key (a random nonce per
	// value, its table, column and row as associated data).
	Sealed
	// Keyed columns identify something confidential but are looked up by
	// equality, so they hold an HMAC-SHA256 keyed by the data key: equal
	// inputs match, nobody without the key can test a guess.
	Keyed
)

// columns classifies every column of every table, in one place. A column
// the schema has and this table lacks fails TestEveryColumnIsClassified:
// a migration that adds a column must say here how it is kept.
var columns = map[string]map[string]Class{
	"schema_migrations": {"version": Public, "name": Public, "applied_at": Public},
	"data_keys": {"id": Public, "created_at": Public, "team_key": Public,
		"wrapped": Public}, // the data key, OpenPGP-encrypted to the team key
	"reports": {"id": Public, "received_at": Public, "source": Public, "sealed": Public, "finished_at": Public,
		"sha256":     Public, // of the message as received; intake keys it with a secret from the team key
		"message_id": Keyed,  // names the sender's mail host
		"raw":        Sealed, // PGP/MIME keeps its outer headers (From, Received) in the clear
	},
	"incidents": {"id": Public, "sig": Public, "severity": Public, "cvss": Public, "score": Public,
		"state": Public, "close_reason": Public, "assignee": Public, "claimed": Public, "manager": Public,
		"acked_by": Public, "acked_at": Public, "report_id": Public, "encrypted": Public,
		"embargo_at": Public, "created_at": Public, "updated_at": Public, "state_since": Public,
		"last_activity": Public, "due_overrides": Public, "due_at": Public, "due_kind": Public,
		"snoozed_until":  Public,
		"next_action_at": Public, // when the sweep next looks at it: deadlines are public already
		"title":          Sealed, "reporter": Sealed, "reporter_key": Sealed,
		"cves": Sealed, // a CVE id names the embargoed flaw until it is published
	},
	"events": {"id": Public, "incident_id": Public, "at": Public, "actor": Public, "platform": Public,
		"kind": Public, "details": Sealed},
	"outbox": {"id": Public, "created_at": Public, "platform": Public, "channel": Public, "person": Public,
		"kind": Public, "incident_id": Public, "confidential": Public, "attempts": Public,
		"next_attempt_at": Public, "delivered_at": Public, "dead_at": Public,
		"dedupe_key":  Public, // kinds, ids and team members' names
		"address":     Sealed, // the reporter's, for acknowledgements and replies
		"body":        Sealed,
		"last_error":  Sealed, // a mail server's refusal quotes the address
		"sent_parts":  Public, // how many lines of the body reached the server
		"held_at":     Public,
		"held_reason": Public, // names a channel and its members, never report content
	},
	"quarantine": {"id": Public, "received_at": Public, "source": Public, "report_id": Public, "size": Public,
		"reason":     Public,
		"dedupe_key": Keyed, // may hold the Message-ID
		"sender":     Sealed, "message_id": Sealed, "detail": Sealed,
		"released_at": Public, "released_by": Public, "dropped_at": Public, "dropped_by": Public, // team members' names
		"drop_reason": Sealed, // an officer's words about the message, which may quote it
	},
	// Our own random Message-IDs and the hashes of reply tokens: nothing
	// from a report.
	"sent_mail": {"message_id": Public, "incident_id": Public, "reply_token_hash": Public, "sent_at": Public},
	"followups": {"report_id": Public, "incident_id": Public, "received_at": Public,
		"matched_by": Public}, // "reply-address", "in-reply-to" or "status-page"
	"status_tokens": {"incident_id": Public, "created_at": Public, "revoked_at": Public,
		"hash": Public}, // SHA-256 of a 256-bit secret: opens no status page
	"roster_overrides": {"id": Public, "kind": Public, "sig": Public, "person": Public, "starts_at": Public,
		"ends_at": Public, "created_at": Public, "created_by": Public},
	"handovers": {"id": Public, "sig": Public, "from_person": Public, "to_person": Public, "config_lead": Public,
		"requested_at": Public, "requested_by": Public, "accepted_at": Public, "cancelled_at": Public},
	"roster_events": {"id": Public, "at": Public, "actor": Public, "platform": Public, "kind": Public,
		"sig": Public, "person": Public, "details": Public}, // covers and hand-overs, never incidents
	"nags": {"subject": Public, "topic": Public, "period_at": Public, "person": Public, "step": Public,
		"incident_id": Public, "sent_at": Public},
	"mattermost_users":    {"username": Public, "user_id": Public, "pinned_at": Public},
	"mattermost_channels": {"incident_id": Public, "channel_id": Public, "created_at": Public},
	"mattermost_posts": {"post_id": Public, "outbox_id": Public, "part": Public, "channel_id": Public,
		"incident_id": Public, "nonce": Public, "created_at": Public},
	"mattermost_seen_posts": {"post_id": Public, "channel_id": Public, "created_at": Public}, // ids and times only
	"ack_ledger":            {"address_hmac": Public, "acknowledged_at": Public},             // the mailer keeps the address only as an HMAC keyed from the team key
	"health_probe":          {"id": Public, "checked_at": Public},
	// The draft is the team's text about an embargoed flaw; the rest is
	// team members' names (like assignee), times, and the list addresses
	// of [publication] the announcement reached (public config).
	"advisories": {"incident_id": Public, "draft": Sealed, "approvals": Public, "publish_at": Public,
		"scheduled_by": Public, "published_at": Public, "distros_at": Public, "announced": Public, "updated_at": Public},
	"irc_channels": {"incident_id": Public, "channel": Public, "created_at": Public, "archived_at": Public,
		"key": Sealed}, // opens the channel where the incident is discussed
}

// ErrLocked is returned for confidential data in a sealed database opened
// without the team key.
var ErrLocked = errors.New("storage: the database is sealed and was opened without the team key ([keys] team_key_file)")

// TeamKey wraps the data key: the team's OpenPGP key (*teamkey.Key).
// Encrypt is to the current key; DecryptSimple also takes what was
// encrypted to a retired key.
type TeamKey interface {
	Encrypt(plaintext []byte) ([]byte, error)
	DecryptSimple(armored []byte, limit int64) ([]byte, error)
	Fingerprint() string
	// DecryptionFingerprints are the current key's and the retired keys'.
	DecryptionFingerprints() []string
}

// sealVersion starts every sealed value, so a later format can differ.
const sealVersion = 1

const dataKeySize = 32

// sealer seals and opens values with the data key.
type sealer struct {
	aead cipher.AEAD
	mac  []byte // HMAC key for Keyed columns
	// macs are HMACs keyed with mac, reset and reused: keying one hashes
	// the key twice, for every Message-ID intake stores or looks up.
	macs sync.Pool
}

func newSealer(dataKey []byte) (*sealer, error) {
	if len(dataKey) != dataKeySize {
		return nil, fmt.Errorf("storage: the data key is %d bytes, want %d", len(dataKey), dataKeySize)
	}
	encKey, err := hkdf.Key(sha256.New, dataKey, nil, "sectriage seal aes-256-gcm", 32)
	if err != nil {
		return nil, err
	}
	macKey, err := hkdf.Key(sha256.New, dataKey, nil, "sectriage seal hmac-sha256", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &sealer{aead: aead, mac: macKey}
	s.macs.New = func() any { return hmac.New(sha256.New, s.mac) }
	return s, nil
}

// cell is where a sealed value lives. It is the value's associated data:
// a value moved to another column (a note into a title) or another row (one
// incident's title onto another) does not open.
type cell struct {
	table, column string
	row           int64 // the row's id
}

// appendAssociated appends the cell's associated data to b:
// "sectriage/table.column/row". Every sealed value is written or read
// with it, so it is appended into spare room of a buffer the caller
// allocates anyway, not formatted afresh.
func (c cell) appendAssociated(b []byte) []byte {
	b = append(b, "sectriage/"...)
	b = append(b, c.table...)
	b = append(b, '.')
	b = append(b, c.column...)
	b = append(b, '/')
	return strconv.AppendInt(b, c.row, 10)
}

// associatedSize bounds the length of appendAssociated's output.
func (c cell) associatedSize() int {
	return len("sectriage/./") + len(c.table) + len(c.column) + 20
}

func (c cell) String() string { return fmt.Sprintf("%s.%s of row %d", c.table, c.column, c.row) }

// seal returns the version byte, a random nonce and the ciphertext, in one
// allocation: the associated data is written past the end of the result,
// in the same buffer (the AEAD reads it and writes only the ciphertext).
func (s *sealer) seal(c cell, plain []byte) []byte {
	n := 1 + s.aead.NonceSize() + len(plain) + s.aead.Overhead()
	buf := make([]byte, n, n+c.associatedSize())
	ad := c.appendAssociated(buf[n:n])
	buf[0] = sealVersion
	nonce := buf[1 : 1+s.aead.NonceSize()]
	rand.Read(nonce) // never fails (crypto/rand)
	return s.aead.Seal(buf[:len(buf)-len(plain)-s.aead.Overhead()], nonce, plain, ad)
}

func (s *sealer) open(c cell, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("storage: %s holds a value that is not sealed", c)
	}
	// As in seal: the plaintext and, past its end, the associated data.
	size := len(sealed) - 1 - n - s.aead.Overhead()
	buf := make([]byte, size, size+c.associatedSize())
	ad := c.appendAssociated(buf[size:size])
	plain, err := s.aead.Open(buf[:0], sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		return nil, fmt.Errorf("storage: %s does not open with the data key (tampered, or moved from elsewhere)", c)
	}
	return plain, nil
}

// keyed is not bound to a row: equal values must match across rows.
func (s *sealer) keyed(table, column, v string) string {
	m := s.macs.Get().(hash.Hash)
	defer s.macs.Put(m)
	m.Reset()
	in := make([]byte, 0, len("sectriage/.")+len(table)+len(column)+1+len(v))
	in = append(append(append(append(append(in, "sectriage/"...), table...), '.'), column...), 0)
	m.Write(append(in, v...))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}

// The methods below are the only way confidential values enter or leave
// the database. A database never unlocked and without a data key (a
// scratch database in a test, or one made by an older sectriage) takes
// values as given; Unlock seals whatever is there. sectriage's commands
// always unlock right after Open (openApp refuses to run without a team
// key), and the two that do not (backup, check) write nothing confidential,
// so no handle writes plaintext into a database another process sealed.

// sealValue returns what to store in a Sealed cell. An empty value is
// stored as the empty text, sealed or not: its sealed form would show it
// is empty by its length anyway, and each sealed value costs an AEAD seal
// and two allocations (most messages queued for a channel have no address,
// most incidents no CVE yet). openValue reads it back as empty.
func (db *DB) sealValue(c cell, plain []byte) (any, error) {
	if db.sealer != nil {
		if len(plain) == 0 {
			return "", nil
		}
		return db.sealer.seal(c, plain), nil
	}
	if db.keyed {
		return nil, ErrLocked
	}
	return plain, nil
}

// sealString is sealValue for text. Plaintext is stored as TEXT, so a
// database that was never sealed reads back the same way it always did.
func (db *DB) sealString(c cell, plain string) (any, error) {
	if db.sealer == nil && !db.keyed {
		return plain, nil
	}
	return db.sealValue(c, []byte(plain))
}

// sealText is sealString for text at hand as bytes.
func (db *DB) sealText(c cell, plain []byte) (any, error) {
	if db.sealer == nil && !db.keyed {
		return string(plain), nil
	}
	return db.sealValue(c, plain)
}

// openValue returns the plaintext of a Sealed cell's stored value.
func (db *DB) openValue(c cell, stored []byte) ([]byte, error) {
	if db.sealer != nil {
		if len(stored) == 0 {
			return stored, nil // empty (see sealValue)
		}
		return db.sealer.open(c, stored)
	}
	if db.keyed {
		return nil, ErrLocked
	}
	return stored, nil
}

func (db *DB) openString(c cell, stored []byte) (string, error) {
	b, err := db.openValue(c, stored)
	return string(b), err
}

// keyValue returns what to store for, or compare with, a Keyed column.
func (db *DB) keyValue(table, column, v string) (string, error) {
	if db.sealer != nil {
		return db.sealer.keyed(table, column, v), nil
	}
	if db.keyed {
		return "", ErrLocked
	}
	return v, nil
}

// WrappedTo returns the fingerprint of the team key the data key is
// wrapped to, or "" when the database has not been sealed yet.
func (db *DB) WrappedTo(ctx context.Context) (string, error) {
	var fpr string
	err := db.read.QueryRowContext(ctx, `SELECT team_key FROM data_keys WHERE id = 1`).Scan(&fpr)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return fpr, err
}

// qCountDataKeys is how hasDataKey asks whether the database holds a
// wrapped data key.
const qCountDataKeys = `SELECT COUNT(*) FROM data_keys`

// hasDataKey reads the answer of qCountDataKeys.
func hasDataKey(count scanner) (bool, error) {
	var n int
	err := count.Scan(&n)
	return n > 0, err
}

// Unlock unwraps the data key with the team key, or, in a database that
// has none, makes one, stores it wrapped to the team key and seals every
// confidential value already stored, all in one transaction: either the
// database is sealed and has its key, or nothing changed. From then on
// every confidential value is sealed as it is written.
//
// A data key wrapped to a retired key (the team key was rotated) is
// re-wrapped to the current key, replacing the old wrapping: from then on
// the database opens with the current key alone (see rewrap).
func (db *DB) Unlock(ctx context.Context, key TeamKey) error {
	var wrapped []byte
	var wrappedTo string
	err := db.read.QueryRowContext(ctx, `SELECT wrapped, team_key FROM data_keys WHERE id = 1`).Scan(&wrapped, &wrappedTo)
	if errors.Is(err, sql.ErrNoRows) {
		return db.seal(ctx, key)
	}
	if err != nil {
		return fmt.Errorf("storage: reading the data key: %w", err)
	}
	dataKey, err := key.DecryptSimple(wrapped, 1024)
	if err != nil {
		return &WrongKeyError{Path: db.path, WrappedTo: wrappedTo, Configured: key.DecryptionFingerprints(), Err: err}
	}
	s, err := newSealer(dataKey)
	if err != nil {
		return err
	}
	if wrappedTo != key.Fingerprint() {
		if err := db.rewrap(ctx, key, wrappedTo, dataKey, s); err != nil {
			return err
		}
	}
	db.sealer, db.keyed = s, true
	return nil
}

// seal makes the data key of a database that has none, stores it wrapped
// to key and seals every value already stored, in one transaction. If
// another process got there first, its key is used.
func (db *DB) seal(ctx context.Context, key TeamKey) error {
	migrated, other := 0, false
	var s *sealer
	err := db.inTx(ctx, func(tx *wtx) error {
		if found, err := hasDataKey(tx.QueryRowContext(ctx, qCountDataKeys)); err != nil || found {
			other = found
			return err
		}
		dataKey := make([]byte, dataKeySize)
		rand.Read(dataKey)
		var err error
		if s, err = newSealer(dataKey); err != nil {
			return err
		}
		wrapped, err := key.Encrypt(dataKey)
		if err != nil {
			return fmt.Errorf("storage: wrapping the data key to the team key: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO data_keys(id, wrapped, team_key, created_at) VALUES (1, ?, ?, ?)`,
			wrapped, key.Fingerprint(), time.Now().UnixMilli()); err != nil {
			return err
		}
		migrated, err = sealExisting(ctx, tx, s)
		return err
	})
	if err != nil {
		return err
	}
	if other {
		return db.Unlock(ctx, key)
	}
	db.sealer, db.keyed = s, true
	if migrated > 0 {
		// secure_delete zeroed the old cells in the pages; the WAL still
		// holds the plaintext pages until a checkpoint truncates it.
		if _, err := db.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return fmt.Errorf("storage: sealed %d values but could not truncate the WAL: %w", migrated, err)
		}
		db.log.Info("sealed the confidential values of a database made before sealing", "values", migrated)
	}
	return nil
}

// sealExisting seals every Sealed and Keyed value in tx, for a database
// that had no data key, so every one of them is plaintext. Append-only
// triggers are lifted for this one rewrite and put back in the same
// transaction.
func sealExisting(ctx context.Context, tx *wtx, s *sealer) (int, error) {
	total := 0
	for table, cols := range columns {
		for column, class := range cols {
			if class == Public {
				continue
			}
			n, err := sealColumn(ctx, tx, s, table, column, class)
			if err != nil {
				return total, fmt.Errorf("storage: sealing %s.%s: %w", table, column, err)
			}
			total += n
		}
	}
	return total, nil
}

func sealColumn(ctx context.Context, tx *wtx, s *sealer, table, column string, class Class) (int, error) {
	type row struct {
		id    int64
		value []byte
	}
	var todo []row
	rows, err := tx.QueryContext(ctx, `SELECT rowid, `+column+` FROM `+table+` WHERE `+column+` IS NOT NULL`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.value); err != nil {
			rows.Close()
			return 0, err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(todo) == 0 {
		return 0, err
	}
	triggers, err := liftTriggers(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE `+table+` SET `+column+` = ? WHERE rowid = ?`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	for _, r := range todo {
		var v any
		if class == Keyed {
			v = s.keyed(table, column, string(r.value))
		} else {
			v = s.seal(cell{table, column, r.id}, r.value)
		}
		if _, err := tx.execStmt(ctx, stmt, v, r.id); err != nil {
			return 0, err
		}
	}
	for _, sql := range triggers {
		if _, err := tx.ExecContext(ctx, sql); err != nil {
			return 0, fmt.Errorf("restoring a trigger: %w", err)
		}
	}
	return len(todo), nil
}

// liftTriggers drops table's triggers and returns the SQL that makes them again.
func liftTriggers(ctx context.Context, tx *wtx, table string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?`, table)
	if err != nil {
		return nil, err
	}
	var names, sqls []string
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			rows.Close()
			return nil, err
		}
		names, sqls = append(names, name), append(sqls, sql)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER "`+name+`"`); err != nil {
			return nil, err
		}
	}
	return sqls, nil
}
