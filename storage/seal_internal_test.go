package storage

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/teamkey"
)

var (
	keyOnce  sync.Once
	keyValue *teamkey.Key
	keyErr   error
)

func teamKey(t testing.TB) *teamkey.Key {
	t.Helper()
	keyOnce.Do(func() {
		keyValue, keyErr = teamkey.Generate("Test Security Team", "security@example.org", time.Now())
	})
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return keyValue
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// schema reads every table's columns from the database itself.
func schema(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	ctx := context.Background()
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := db.read.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var col string
			if err := rows.Scan(&col); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], col)
		}
		rows.Close()
	}
	return out
}

// TestEveryColumnIsClassified compares the classification with the schema
// every migration builds: a new column must say whether it is confidential.
func TestEveryColumnIsClassified(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "st.db"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var problems []string
	got := schema(t, db)
	for table, cols := range got {
		for _, col := range cols {
			if columns[table][col] == 0 {
				problems = append(problems, fmt.Sprintf("%s.%s is not classified in storage/seal.go columns", table, col))
			}
		}
	}
	for table, cols := range columns {
		for col := range cols {
			found := false
			for _, c := range got[table] {
				found = found || c == col
			}
			if !found {
				problems = append(problems, fmt.Sprintf("%s.%s is classified but not in the schema", table, col))
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Fatal(strings.Join(problems, "\n"))
	}
}

// canaries are written through every path that stores a confidential
// value; none may reach a file.
var canaries = map[string]string{
	"title":       "CANARY-TITLE-7f3a",
	"reporter":    "canary-reporter-91c2@example.net",
	"reporterKey": "CANARYKEY0FINGERPRINT55D1",
	"cve":         "CVE-2031-47119",
	"note":        "CANARY-NOTE-2b8e",
	"body":        "CANARY-BODY-c04d",
	"error":       "CANARY-ERROR-6a1f",
	"raw":         "CANARY-RAW-3e77",
	"messageID":   "<canary-mid-8d20@reporter.example.net>",
	"sender":      "canary-sender-aa41@example.net",
	"detail":      "CANARY-DETAIL-51f0",
	"draft":       "CANARY-DRAFT-0c9b",
	"dropReason":  "CANARY-DROP-REASON-0c9b",
}

// fill writes one value of every confidential kind through the store's
// public methods, as the service and intake do.
func fill(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	c := canaries
	inc, err := db.CreateIncident(ctx, &bot.Incident{Title: c["title"], SIG: "core", State: bot.StateNew,
		Reporter: c["reporter"], ReporterKey: c["reporterKey"], CVEs: []string{c["cve"]}, Severity: bot.SeverityUnknown},
		func(inc *bot.Incident) bot.Change {
			return bot.Change{
				Events: []bot.Event{{At: time.Now(), Actor: "alice", Platform: "cli", Kind: "note", Details: c["note"]}},
				Outbox: []bot.OutboxMessage{{Dest: bot.Destination{Platform: bot.PlatformEmail, Address: c["reporter"]},
					Kind: bot.MessageMail, Text: text(c["body"]), Confidential: true}},
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateIncident(ctx, inc.ID, func(inc *bot.Incident) (bot.Change, error) {
		inc.Title += " (updated)"
		return bot.Change{Events: []bot.Event{{At: time.Now(), Actor: "alice", Platform: "cli", Kind: "replied", Details: c["note"] + " reply"}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpdateAdvisory(ctx, inc.ID, func(_ *bot.Incident, rec *bot.AdvisoryRecord) (bot.Change, error) {
		rec.Draft.Description, rec.Stored = c["draft"], true
		return bot.Change{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkRetry(ctx, 1, 1, time.Now(), "550 "+c["error"]); err != nil {
		t.Fatal(err)
	}
	if err := db.Enqueue(ctx, []bot.OutboxMessage{{Dest: bot.Destination{Platform: bot.PlatformEmail, Address: c["reporter"]},
		Kind: bot.MessageMail, Text: text(c["body"])}}); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkDead(ctx, 2, time.Now(), "550 "+c["error"]); err != nil {
		t.Fatal(err)
	}
	id, _, err := db.KeepReport(ctx, bot.KeptReport{ReceivedAt: time.Now(), Source: "pipe", MessageID: c["messageID"],
		Hash: "h1", Raw: []byte("Subject: " + c["raw"])})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.QuarantineMessage(ctx, &bot.Quarantined{ReceivedAt: time.Now(), Source: "pipe", ReportID: id,
		DedupeKey: "oversized|mid|" + c["messageID"], Sender: c["sender"], MessageID: c["messageID"], Reason: "wrong-key",
		Detail: c["detail"]}, func(*bot.Quarantined) []bot.OutboxMessage { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.DropQuarantine(ctx, 1, "alice", c["dropReason"], time.Now()); err != nil {
		t.Fatal(err)
	}
}

// checkSealedAtRest checks every confidential column of every row and
// every file of the database for the canaries.
func checkSealedAtRest(t *testing.T, db *DB, dir string) {
	t.Helper()
	ctx := context.Background()
	for table, cols := range columns {
		for col, class := range cols {
			if class == Public {
				continue
			}
			rows, err := db.read.QueryContext(ctx, `SELECT rowid, `+col+`, typeof(`+col+`) FROM `+table+` WHERE `+col+` IS NOT NULL`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				var v []byte
				var typ string
				if err := rows.Scan(&id, &v, &typ); err != nil {
					t.Fatal(err)
				}
				switch class {
				case Sealed:
					if typ == "text" && len(v) == 0 {
						break // an empty value (see sealValue)
					}
					if typ != "blob" {
						t.Errorf("%s.%s holds a %s, not a sealed value", table, col, typ)
					} else if _, err := db.sealer.open(cell{table, col, id}, v); err != nil {
						t.Errorf("%s.%s: %v", table, col, err)
					}
				case Keyed:
					if _, err := hex.DecodeString(string(v)); err != nil || len(v) != 64 {
						t.Errorf("%s.%s holds %q, not a keyed hash", table, col, v)
					}
				}
			}
			rows.Close()
		}
	}
	grepCanaries(t, dir)
}

func grepCanaries(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) == 0 {
		t.Fatal("no files to check")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s holds the %s canary in plaintext", filepath.Base(f), name)
			}
		}
	}
}

// readBack checks that every value comes back as it was written.
func readBack(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	c := canaries
	inc, err := db.Incident(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inc.Title, c["title"]) || inc.Reporter != c["reporter"] || inc.ReporterKey != c["reporterKey"] ||
		len(inc.CVEs) != 1 || inc.CVEs[0] != c["cve"] {
		t.Errorf("incident read back as %+v", inc)
	}
	evs, err := db.Events(ctx, 1)
	if err != nil || len(evs) != 2 || evs[0].Details != c["note"] {
		t.Errorf("events read back as %+v, %v", evs, err)
	}
	msgs, err := db.DueMessages(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(msgs) != 1 || msgs[0].Dest.Address != c["reporter"] || !strings.Contains(bot.RenderPlain(msgs[0].Text), c["body"]) ||
		!strings.Contains(msgs[0].LastError, c["error"]) {
		t.Errorf("outbox read back as %+v, %v", msgs, err)
	}
	r, err := db.KeptReport(ctx, 1)
	if err != nil || !bytes.Contains(r.Raw, []byte(c["raw"])) {
		t.Errorf("report read back as %+v, %v", r, err)
	}
	q, err := db.Quarantine(ctx, 10)
	if err != nil || len(q) != 1 || q[0].Sender != c["sender"] || q[0].MessageID != c["messageID"] || q[0].Detail != c["detail"] {
		t.Errorf("quarantine read back as %+v, %v", q, err)
	}
	// Keyed columns still find what they hold.
	if id, err := db.ReportByMessageID(ctx, c["messageID"]); err != nil || id != 1 {
		t.Errorf("the report by its Message-ID: %d, %v; want 1", id, err)
	}
	if _, created, err := db.QuarantineMessage(ctx, &bot.Quarantined{ReceivedAt: time.Now(), Source: "pipe",
		DedupeKey: "oversized|mid|" + c["messageID"], Reason: "too-large"}, func(*bot.Quarantined) []bot.OutboxMessage { return nil }); err != nil || created {
		t.Errorf("a known quarantine dedupe key: created = %v, %v", created, err)
	}
}

// readBackQuarantineEntry checks the quarantine entry fill stored, with
// the drop reason newer than the previous schema.
func readBackQuarantineEntry(t *testing.T, db *DB) {
	t.Helper()
	if e, err := db.QuarantineEntry(context.Background(), 1); err != nil || e.DropReason != canaries["dropReason"] || e.Sender != canaries["sender"] {
		t.Errorf("quarantine entry read back as %+v, %v", e, err)
	}
}

// readBackAdvisory checks the draft fill stored (tables newer than the
// previous schema are checked apart from readBack).
func readBackAdvisory(t *testing.T, db *DB) {
	t.Helper()
	if rec, err := db.AdvisoryRecord(context.Background(), 1); err != nil || rec.Draft.Description != canaries["draft"] {
		t.Errorf("advisory read back as %+v, %v", rec, err)
	}
}

func TestEveryConfidentialValueIsSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, filepath.Join(dir, "st.db"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Unlock(ctx, teamKey(t)); err != nil {
		t.Fatal(err)
	}
	fill(t, db)
	checkSealedAtRest(t, db, dir)
	readBack(t, db)
	readBackQuarantineEntry(t, db)
	readBackAdvisory(t, db)
}

// TestUnlockSealsPlaintextOfTheCurrentSchema: values written through
// every path while the database had no data key are sealed in place by
// the first open with the team key, and read back the same.
func TestUnlockSealsPlaintextOfTheCurrentSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "st.db")
	db, err := Open(ctx, path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db)
	db.Close()
	db, err = Open(ctx, path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Unlock(ctx, teamKey(t)); err != nil {
		t.Fatal(err)
	}
	checkSealedAtRest(t, db, dir)
	readBack(t, db)
	readBackQuarantineEntry(t, db)
	readBackAdvisory(t, db)
}

// previousSchemaDB builds a database as sectriage made it before sealing:
// migrations 0001-0005 and plaintext rows.
func previousSchemaDB(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	list, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.version > 5 {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			t.Fatal(m.name, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	c := canaries
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO reports(id, received_at, source, message_id, sha256, raw, sealed, finished_at) VALUES (1, 0, 'pipe', '%s', 'h1', CAST('Subject: %s' AS BLOB), 0, 0)`, c["messageID"], c["raw"]),
		fmt.Sprintf(`INSERT INTO incidents(id, title, sig, state, reporter, reporter_key, cves, report_id, created_at, updated_at, state_since, last_activity)
			VALUES (1, '%s', 'core', 'new', '%s', '%s', '%s', 1, 0, 0, 0, 0)`, c["title"], c["reporter"], c["reporterKey"], c["cve"]),
		fmt.Sprintf(`INSERT INTO events(incident_id, at, actor, platform, kind, details) VALUES (1, 0, 'alice', 'cli', 'note', '%s')`, c["note"]),
		fmt.Sprintf(`INSERT INTO events(incident_id, at, actor, platform, kind, details) VALUES (1, 0, 'alice', 'cli', 'replied', '%s reply')`, c["note"]),
		fmt.Sprintf(`INSERT INTO outbox(created_at, platform, address, kind, incident_id, body, next_attempt_at, last_error) VALUES (0, 'email', '%s', 'mail', 1, '{"s":[{"k":0,"t":"%s"}]}', 0, '550 %s')`, c["reporter"], c["body"], c["error"]),
		fmt.Sprintf(`INSERT INTO quarantine(received_at, source, report_id, dedupe_key, sender, message_id, reason, detail) VALUES (0, 'pipe', 1, 'oversized|mid|%s', '%s', '%s', 'wrong-key', '%s')`, c["messageID"], c["sender"], c["messageID"], c["detail"]),
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
}

// TestUnlockSealsADatabaseOfThePreviousSchema: the first open with the
// team key seals every plaintext value in place; the plaintext is gone
// from the files; a second open changes nothing.
func TestUnlockSealsADatabaseOfThePreviousSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "st.db")
	previousSchemaDB(t, path)
	db, err := Open(ctx, path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Unlock(ctx, teamKey(t)); err != nil {
		t.Fatal(err)
	}
	checkSealedAtRest(t, db, dir)
	readBack(t, db)
	if err := db.ExecForTest(ctx, `UPDATE events SET details = '' WHERE id = 1`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("events after sealing: update err = %v, want the append-only trigger", err)
	}
	before := dump(t, db)
	db.Close()

	db, err = Open(ctx, path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Unlock(ctx, teamKey(t)); err != nil {
		t.Fatal(err)
	}
	if after := dump(t, db); after != before {
		t.Fatal("a second open changed the sealed values")
	}
	readBack(t, db)
}

// dump renders every confidential value as stored.
func dump(t *testing.T, db *DB) string {
	t.Helper()
	var b strings.Builder
	tables := make([]string, 0, len(columns))
	for table := range columns {
		tables = append(tables, table)
	}
	sort.Strings(tables)
	for _, table := range tables {
		var cols []string
		for col, class := range columns[table] {
			if class != Public {
				cols = append(cols, col)
			}
		}
		sort.Strings(cols)
		for _, col := range cols {
			rows, err := db.read.Query(`SELECT rowid, hex(` + col + `) FROM ` + table + ` ORDER BY rowid`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				var v string
				rows.Scan(&id, &v)
				fmt.Fprintf(&b, "%s.%s.%d=%s\n", table, col, id, v)
			}
			rows.Close()
		}
	}
	return b.String()
}

func TestSealedDatabaseWithoutTheKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "st.db")
	db, err := Open(ctx, path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Unlock(ctx, teamKey(t)); err != nil {
		t.Fatal(err)
	}
	fill(t, db)
	db.Close()

	db, err = Open(ctx, path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Incident(ctx, 1); !errors.Is(err, ErrLocked) {
		t.Errorf("reading a sealed title without the key: err = %v, want ErrLocked", err)
	}
	if err := db.Enqueue(ctx, []bot.OutboxMessage{{Dest: bot.Destination{Platform: "console"}, Kind: "notice"}}); !errors.Is(err, ErrLocked) {
		t.Errorf("queueing without the key: err = %v, want ErrLocked", err)
	}
	other, err := teamkey.Generate("Someone Else", "else@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	err = db.Unlock(ctx, other)
	if err == nil || !strings.Contains(err.Error(), teamKey(t).Fingerprint()) || !strings.Contains(err.Error(), other.Fingerprint()) {
		t.Fatalf("unlocking with another team key: err = %v, want both fingerprints named", err)
	}
}

// A value moved to another column or another row does not open.
func TestSealedValuesAreBoundToTheirCell(t *testing.T) {
	s, err := newSealer(bytes.Repeat([]byte{7}, dataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	v := s.seal(cell{"events", "details", 3}, []byte("note"))
	if _, err := s.open(cell{"incidents", "title", 3}, v); err == nil {
		t.Fatal("a note opened as a title")
	}
	if _, err := s.open(cell{"events", "details", 4}, v); err == nil {
		t.Fatal("a note opened in another row")
	}
	if p, err := s.open(cell{"events", "details", 3}, v); err != nil || string(p) != "note" {
		t.Fatalf("open = %q, %v", p, err)
	}
	if bytes.Equal(v, s.seal(cell{"events", "details", 3}, []byte("note"))) {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
}

// Swapping two incidents' sealed titles in the file is detected on read.
func TestSwappedSealedValuesDoNotOpen(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "st.db"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Unlock(ctx, teamKey(t)); err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"first", "second"} {
		if _, err := db.CreateIncident(ctx, &bot.Incident{Title: title, SIG: "core", State: bot.StateNew, Severity: bot.SeverityUnknown},
			func(*bot.Incident) bot.Change { return bot.Change{} }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.ExecForTest(ctx, `UPDATE incidents SET title = (SELECT title FROM incidents WHERE id = 2) WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Incident(ctx, 1); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("a title copied from another incident: err = %v", err)
	}
}

func text(s string) bot.Text {
	var t bot.Text
	t.Untrusted(s)
	return t
}

// Two processes opening a new database at once (the daemon and an MTA's
// `sectriage ingest`) end up with one data key: each reads what the other wrote.
func TestConcurrentFirstUnlockMakesOneKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "st.db")
	var dbs [4]*DB
	for i := range dbs {
		db, err := Open(ctx, path, quiet())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Unlock(ctx, teamKey(t))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("unlock %d: %v", i, err)
		}
	}
	for i, db := range dbs {
		if err := db.Enqueue(ctx, []bot.OutboxMessage{{Dest: bot.Destination{Platform: "console"}, Kind: "notice", Text: text(fmt.Sprint("from ", i))}}); err != nil {
			t.Fatal(err)
		}
	}
	for i, db := range dbs {
		msgs, err := db.DueMessages(ctx, time.Now().Add(time.Hour), 10)
		if err != nil || len(msgs) != len(dbs) {
			t.Fatalf("handle %d reads %d messages, %v; want all %d", i, len(msgs), err, len(dbs))
		}
	}
}

// TestKeyedValuesAreStable: a Keyed column holds HMAC-SHA256(mac key,
// "sectriage/table.column" NUL value) in hex; databases sealed by any
// version are looked up by it, so its input must never change (the
// sealer reuses its HMACs, concurrently).
func TestKeyedValuesAreStable(t *testing.T) {
	s, err := newSealer(bytes.Repeat([]byte{7}, dataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	want := func(v string) string {
		m := hmac.New(sha256.New, s.mac)
		m.Write([]byte("sectriage/reports.message_id\x00" + v))
		return hex.EncodeToString(m.Sum(nil))
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				v := fmt.Sprintf("<%d-%d@example.net>", i, j)
				if got := s.keyed("reports", "message_id", v); got != want(v) {
					t.Errorf("keyed(%q) = %s, want %s", v, got, want(v))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestEmptyValuesAreStoredEmpty: an empty confidential value (a channel
// message's address, an untried message's error) is stored as the empty
// text, not sealed (its sealed length would show it is empty), and reads
// back empty; everything else stays sealed.
func TestEmptyValuesAreStoredEmpty(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, filepath.Join(dir, "st.db"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Unlock(ctx, teamKey(t)); err != nil {
		t.Fatal(err)
	}
	if err := db.Enqueue(ctx, []bot.OutboxMessage{{Dest: bot.Destination{Platform: "irc", Channel: bot.ChannelTriage},
		Kind: bot.MessageNotice, Text: bot.PlainText(canaries["body"])}}); err != nil {
		t.Fatal(err)
	}
	var address, lastError, body []byte
	var types string
	if err := db.read.QueryRowContext(ctx, `SELECT address, last_error, body, typeof(address) || typeof(last_error) || typeof(body) FROM outbox`).
		Scan(&address, &lastError, &body, &types); err != nil {
		t.Fatal(err)
	}
	if len(address) != 0 || len(lastError) != 0 || types != "texttextblob" {
		t.Errorf("stored address %q, last_error %q (%s)", address, lastError, types)
	}
	msgs, err := db.DueMessages(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(msgs) != 1 || msgs[0].Dest.Address != "" || msgs[0].LastError != "" || bot.RenderPlain(msgs[0].Text) != canaries["body"] {
		t.Fatalf("read back %+v, %v", msgs, err)
	}
	checkSealedAtRest(t, db, dir)
}
