package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/teamkey"

	_ "modernc.org/sqlite"
)

// intakeConfig writes a config with a passphrase-protected team key and
// returns its path and the key.
func intakeConfig(t testing.TB, extra string) (string, *teamkey.Key) {
	t.Helper()
	return intakeConfigIn(t, t.TempDir(), extra)
}

// intakeConfigIn is intakeConfig in a directory of the caller's choosing
// (the database goes beside the config).
func intakeConfigIn(t testing.TB, dir, extra string) (string, *teamkey.Key) {
	t.Helper()
	key, err := teamkey.Generate("Test Team", "security@example.org", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := key.ArmoredSecret([]byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "team.asc"), secret, 0o600))
	must(os.WriteFile(filepath.Join(dir, "passphrase"), []byte("correct horse\n"), 0o600))
	cfg := testConfig + `
[keys]
team_key_file = "team.asc"
passphrase_file = "passphrase"
` + extra
	path := filepath.Join(dir, "sectriage.toml")
	must(os.WriteFile(path, []byte(cfg), 0o600))
	return path, key
}

// encryptedMail is a PGP/MIME report to key, made with go-crypto.
func encryptedMail(t testing.TB, key *teamkey.Key, msgID, subject, body string) []byte {
	t.Helper()
	inner := fmt.Sprintf("Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nSubject: %s\r\n\r\n%s\r\n", subject, body)
	armored, err := teamkey.EncryptTo([]byte(inner), key.Entity(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return []byte("From: Reporter <reporter@example.net>\r\nTo: security@example.org\r\nSubject: ...\r\n" +
		"Message-ID: <" + msgID + ">\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\n\r\n" + strings.ReplaceAll(string(armored), "\n", "\r\n") + "\r\n--b--\r\n")
}

func TestIngest(t *testing.T) {
	cfg, key := intakeConfig(t, "")
	good := encryptedMail(t, key, "one@example.net", "Path traversal in /download", "CANARY-INGEST ../../etc/passwd")
	code, out, errOut := runCLI(t, string(good), "ingest", "-config", cfg)
	if code != exitOK || strings.TrimSpace(out) != "SEC-1" {
		t.Fatalf("good report: exit %d %q %s", code, out, errOut)
	}
	// Re-delivery: the same incident, exit 0 again.
	if code, out, _ := runCLI(t, string(good), "ingest", "-config", cfg); code != exitOK || strings.TrimSpace(out) != "SEC-1" {
		t.Fatalf("re-delivery: exit %d %q", code, out)
	}
	// LF line endings, as Postfix pipe delivers, and a "From " line.
	lf := append([]byte("From reporter@example.net Sun Nov 22 10:00:00 2026\n"),
		bytes.ReplaceAll(encryptedMail(t, key, "two@example.net", "LF mail", "body"), []byte("\r\n"), []byte("\n"))...)
	if code, out, errOut := runCLI(t, string(lf), "ingest", "-config", cfg); code != exitOK || strings.TrimSpace(out) != "SEC-2" {
		t.Fatalf("LF mail: exit %d %q %s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "Subject: hi\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\ngarbage\r\n-----END PGP MESSAGE-----\r\n", "ingest", "-config", cfg); code != exitOK || !strings.HasPrefix(out, "quarantined Q-1 (") {
		t.Fatalf("garbage: exit %d %q", code, out)
	}
	code, out, _ = runCLI(t, "show 1\n", "cmd", "-config", cfg, "-as", "alice", "--", "show", "1")
	if code != exitOK || !strings.Contains(out, "Path traversal in /download") || !strings.Contains(out, "CANARY-INGEST") {
		t.Fatalf("show: %d %s", code, out)
	}
	data, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "st.db"))
	wal, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "st.db-wal"))
	if bytes.Contains(append(data, wal...), []byte("CANARY-INGEST")) {
		t.Error("the database holds a report's plaintext")
	}
}

// TestIngestQueuesChatPosts: an incident that arrives through the MTA is
// queued for every chat platform of the config, for the daemon's outbox
// to post; ingest itself connects to none of them.
func TestIngestQueuesChatPosts(t *testing.T) {
	cfg, key := intakeConfig(t, `
[irc]
server = "irc.example.org:6697"
triage_channel = { name = "#sec" }
`)
	mail := encryptedMail(t, key, "chat@example.net", "XXE in the importer", "details")
	if code, out, errOut := runCLI(t, string(mail), "ingest", "-config", cfg); code != exitOK || strings.TrimSpace(out) != "SEC-1" {
		t.Fatalf("ingest: exit %d %q %s", code, out, errOut)
	}
	db := openStateDB(t, cfg)
	defer db.Close()
	msgs, err := db.DueMessages(context.Background(), time.Now().Add(time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == bot.MessageNewIncident && m.Dest.Platform == bot.PlatformIRC && m.IncidentID == 1 {
			return
		}
	}
	t.Fatalf("no new-incident message for IRC queued; outbox: %+v", msgs)
}

func TestIngestTempFails(t *testing.T) {
	noKey := filepath.Join(t.TempDir(), "sectriage.toml")
	if err := os.WriteFile(noKey, []byte(testConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "Subject: x\r\n\r\nx\r\n", "ingest", "-config", noKey); code != exitTempErr || !strings.Contains(errOut, "no team key") {
		t.Errorf("no team key: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(noKey), "st.db")); err == nil {
		t.Error("without a team key a database was made")
	}
	if code, _, _ := runCLI(t, "x", "ingest", "-config", "/nonexistent.toml"); code != exitTempErr {
		t.Errorf("missing config: exit %d", code)
	}
	if code, _, _ := runCLI(t, "x", "ingest", "-bogus"); code != exitTempErr {
		t.Errorf("bad flag: exit %d", code)
	}
	cfg, _ := intakeConfig(t, "")
	os.Remove(filepath.Join(filepath.Dir(cfg), "passphrase"))
	if code, _, _ := runCLI(t, "x", "ingest", "-config", cfg); code != exitTempErr {
		t.Errorf("key cannot be unlocked: exit %d", code)
	}
	// A database that cannot be written: the MTA must keep the message.
	cfg, key := intakeConfig(t, "")
	dir := filepath.Dir(cfg)
	if code, _, _ := runCLI(t, string(encryptedMail(t, key, "a@b", "s", "b")), "ingest", "-config", cfg); code != exitOK {
		t.Fatal("setup failed")
	}
	if os.Getuid() != 0 { // root writes anyway
		os.Chmod(filepath.Join(dir, "st.db"), 0o400)
		os.Chmod(dir, 0o500)
		defer os.Chmod(dir, 0o700)
		if code, _, _ := runCLI(t, string(encryptedMail(t, key, "c@d", "s", "b")), "ingest", "-config", cfg); code != exitTempErr {
			t.Errorf("read-only database: exit %d", code)
		}
	}
}

func TestOversizedIngestIsQuarantinedNotStored(t *testing.T) {
	cfg, _ := intakeConfig(t, "\n[intake]\nmax_message_size = \"4KiB\"\n")
	big := "From: someone@example.net\r\nMessage-ID: <big@example.net>\r\nSubject: big\r\n\r\n" + strings.Repeat("A", 64<<10)
	code, out, _ := runCLI(t, big, "ingest", "-config", cfg)
	if code != exitOK || !strings.Contains(out, "(too-large)") {
		t.Fatalf("exit %d %q", code, out)
	}
	if code, out, _ = runCLI(t, big, "ingest", "-config", cfg); !strings.Contains(out, "Q-1 ") {
		t.Fatalf("re-delivery of an oversized message: %d %q", code, out)
	}
}

// TestIngestKill9 kills `sectriage ingest` at random moments while it
// works, then delivers every message again as an MTA would. Every message
// must end as exactly one incident or one quarantine entry, and an exit 0
// must never come before the commit.
func TestIngestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "sectriage")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg, key := intakeConfig(t, "")
	type message struct {
		id  string
		raw []byte
	}
	var msgs []message
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("kill-%d@example.net", i)
		var raw []byte
		switch i % 3 {
		case 0, 1:
			raw = encryptedMail(t, key, id, fmt.Sprintf("Report %d", i), strings.Repeat("details ", 500))
		default:
			raw = []byte("From: x@example.net\r\nMessage-ID: <" + id + ">\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"q\"\r\n\r\n--q\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nAAAA\r\n-----END PGP MESSAGE-----\r\n--q--\r\n")
		}
		msgs = append(msgs, message{id, raw})
	}
	dbPath := filepath.Join(filepath.Dir(cfg), "st.db")
	committed := func(id string) bool {
		db := openStateDB(t, cfg)
		defer db.Close()
		ctx := context.Background()
		rid, err := db.ReportByMessageID(ctx, "<"+id+">")
		if err != nil {
			t.Fatal(err)
		}
		if rid == 0 {
			return false
		}
		out, err := db.ReportOutcome(ctx, rid)
		if err != nil {
			t.Fatal(err)
		}
		return out.IncidentID != 0 || out.QuarantineID != 0
	}
	deliver := func(m message, killAfter time.Duration) (exited bool, code int) {
		cmd := exec.Command(bin, "ingest", "-config", cfg)
		cmd.Stdin = bytes.NewReader(m.raw)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				return true, 0
			}
			if ee, ok := err.(*exec.ExitError); ok {
				return true, ee.ExitCode()
			}
			t.Fatal(err)
		case <-time.After(killAfter):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
		return false, -1
	}
	// Kill anywhere in a run's lifetime: time one first.
	start := time.Now()
	if exited, code := deliver(message{"baseline@example.net", encryptedMail(t, key, "baseline@example.net", "b", "b")}, time.Minute); !exited || code != 0 {
		t.Fatalf("baseline run: exit %d", code)
	}
	span := time.Since(start) * 5 / 4
	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	for round := 0; round < 3; round++ {
		for _, m := range msgs {
			exited, code := deliver(m, time.Duration(rng.Int64N(int64(span))))
			if !exited {
				kills++
				continue
			}
			if code == exitOK && !committed(m.id) {
				t.Fatalf("%s: exit 0 before its outcome was committed", m.id)
			}
		}
	}
	var stranded int
	if db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro"); err == nil {
		_ = db.QueryRow(`SELECT COUNT(*) FROM reports WHERE finished_at IS NULL`).Scan(&stranded)
		db.Close()
	}
	t.Logf("a run takes about %v; %d of %d runs killed; %d reports stored but unfinished before re-delivery",
		span*4/5, kills, 3*len(msgs), stranded)
	// The MTA re-delivers until every message got exit 0.
	for _, m := range msgs {
		for attempt := 0; ; attempt++ {
			if exited, code := deliver(m, time.Minute); exited && code == exitOK {
				break
			} else if attempt > 5 {
				t.Fatalf("%s: still failing (exit %d)", m.id, code)
			}
		}
		if !committed(m.id) {
			t.Fatalf("%s: exit 0 but no outcome", m.id)
		}
	}
	db := openStateDB(t, cfg)
	defer db.Close()
	incidents, _ := db.CountIncidents(context.Background(), bot.IncidentFilter{})
	quarantined, _ := db.Quarantine(context.Background(), 1000)
	if incidents != 9 || len(quarantined) != 4 { // the baseline is one more incident
		t.Errorf("%d incidents and %d quarantine entries, want 9 and 4 (one per message)", incidents, len(quarantined))
	}
	ids, err := db.UnfinishedReports(context.Background(), time.Now().Add(time.Hour), 100)
	if err != nil || len(ids) != 0 {
		t.Errorf("unfinished reports left: %v %v", ids, err)
	}
}

func mustRead(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
