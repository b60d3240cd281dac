package storage

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/teamkey"
)

// TestUnlockRewrapsTheDataKeyToTheNewKey: a database sealed with team key
// A, opened with B as the current key and A retired, gets its data key
// wrapped to B in place of A; it then opens with B alone and reads what A's
// time sealed. A key that opens nothing is refused with every fingerprint
// named.
func TestUnlockRewrapsTheDataKeyToTheNewKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "st.db")
	gen := func(name string) *teamkey.Key {
		k, err := teamkey.Generate(name, "security@example.org", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	oldKey, newKey, stranger := gen("Old"), gen("New"), gen("Stranger")
	open := func(key TeamKey) (*DB, error) {
		t.Helper()
		db, err := Open(ctx, path, quiet())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Unlock(ctx, key); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	db, err := open(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db)
	// Stored copies of plaintext reports, sealed to the team key of the
	// day: one to the old key, one to a key never configured here.
	keep := func(key *teamkey.Key, raw string) int64 {
		t.Helper()
		ct, err := key.Encrypt([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := db.KeepReport(ctx, bot.KeptReport{ReceivedAt: time.Now(), Source: "pipe", Hash: raw, Raw: ct, Sealed: true})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	toOld, toStranger := keep(oldKey, "Subject: plain\r\n\r\nCANARY-RESEAL"), keep(stranger, "Subject: other\r\n\r\nx")
	db.Close()

	// Without the retired key, the new key alone opens nothing.
	_, err = open(newKey)
	var wrong *WrongKeyError
	if !errors.As(err, &wrong) || wrong.WrappedTo != oldKey.Fingerprint() ||
		!strings.Contains(err.Error(), oldKey.Fingerprint()) || !strings.Contains(err.Error(), newKey.Fingerprint()) ||
		!strings.Contains(err.Error(), "[[keys.retired]]") {
		t.Fatalf("new key alone: err = %v, want a WrongKeyError naming both keys and the fix", err)
	}
	_, err = open(stranger.WithRetired(newKey))
	if err == nil || !strings.Contains(err.Error(), "retired: "+newKey.Fingerprint()) {
		t.Fatalf("unrelated keys: err = %v, want the retired fingerprints listed", err)
	}

	db, err = open(newKey.WithRetired(oldKey))
	if err != nil {
		t.Fatal(err)
	}
	if fpr, _ := db.WrappedTo(ctx); fpr != newKey.Fingerprint() {
		t.Fatalf("after opening with the new key and the old retired: wrapped to %s, want %s", fpr, newKey.Fingerprint())
	}
	var wrapped []byte
	var rows int
	if err := db.read.QueryRowContext(ctx, `SELECT wrapped, (SELECT COUNT(*) FROM data_keys) FROM data_keys`).Scan(&wrapped, &rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("data_keys holds %d wrappings, want the one to the new key", rows)
	}
	if _, err := oldKey.DecryptSimple(wrapped, 1024); err == nil {
		t.Error("the old key still unwraps the data key")
	}
	db.Close()

	// The retired key removed: everything sealed before the rotation reads.
	db, err = open(newKey)
	if err != nil {
		t.Fatalf("new key alone after the re-wrap: %v", err)
	}
	defer db.Close()
	inc, err := db.Incident(ctx, 1)
	if err != nil || inc.Title != canaries["title"]+" (updated)" || inc.Reporter != canaries["reporter"] {
		t.Fatalf("incident after rotation: %+v, %v", inc, err)
	}
	if _, err := open(oldKey); err == nil {
		t.Error("the old key alone still opens the database")
	}
	// The copy sealed to the old key was resealed to the new one; the one
	// no configured key opened is left as it was.
	kept, err := db.KeptReport(ctx, toOld)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := newKey.DecryptSimple(kept.Raw, 1<<20); err != nil || !strings.Contains(string(raw), "CANARY-RESEAL") || !kept.Sealed {
		t.Errorf("report sealed to the old key, after the rotation: %q, %v", raw, err)
	}
	if kept, err := db.KeptReport(ctx, toStranger); err != nil {
		t.Error(err)
	} else if _, err := stranger.DecryptSimple(kept.Raw, 1<<20); err != nil {
		t.Errorf("the copy no configured key opens was changed: %v", err)
	}
}

// TestConcurrentRewrapKeepsOneDataKey: processes that open the rotated
// database at once all end with the same data key, wrapped once.
func TestConcurrentRewrapKeepsOneDataKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "st.db")
	oldKey := teamKey(t)
	newKey, err := teamkey.Generate("New", "security@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Unlock(ctx, oldKey); err != nil {
		t.Fatal(err)
	}
	fill(t, db)
	db.Close()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			db, err := Open(ctx, path, quiet())
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			if err := db.Unlock(ctx, newKey.WithRetired(oldKey)); err != nil {
				errs <- err
				return
			}
			_, err = db.Incident(ctx, 1)
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	check, err := Open(ctx, path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var fpr string
	var n int
	if err := check.read.QueryRowContext(ctx, `SELECT team_key, (SELECT COUNT(*) FROM data_keys) FROM data_keys`).Scan(&fpr, &n); err != nil || n != 1 || fpr != newKey.Fingerprint() {
		t.Fatalf("data_keys: %s, %d rows, %v", fpr, n, err)
	}
}

// noEncrypt is a current key that cannot be encrypted to (revoked or
// expired), as a team key whose rotation is not done yet.
type noEncrypt struct{ *teamkey.Key }

func (noEncrypt) Encrypt([]byte) ([]byte, error) { return nil, errors.New("revoked") }

// TestUnlockWithAnUnusableCurrentKeyKeepsTheWrapping: the data key opens
// with the retired key, and stays wrapped to it, when the current key
// cannot be encrypted to; the next open with a usable key re-wraps it.
func TestUnlockWithAnUnusableCurrentKeyKeepsTheWrapping(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "st.db")
	oldKey := teamKey(t)
	newKey, err := teamkey.Generate("New", "security@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range []TeamKey{oldKey, noEncrypt{newKey.WithRetired(oldKey)}, newKey.WithRetired(oldKey)} {
		db, err := Open(ctx, path, quiet())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Unlock(ctx, key); err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i == 0 {
			fill(t, db)
		}
		if _, err := db.Incident(ctx, 1); err != nil {
			t.Errorf("open %d: %v", i, err)
		}
		want := map[int]string{0: oldKey.Fingerprint(), 1: oldKey.Fingerprint(), 2: newKey.Fingerprint()}[i]
		if fpr, _ := db.WrappedTo(ctx); fpr != want {
			t.Errorf("open %d: wrapped to %s, want %s", i, fpr, want)
		}
		db.Close()
	}
}
