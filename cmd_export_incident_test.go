package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// TestExportIncident is issue 17's "exported with the incident": a report
// (subject and body), a follow-up, a note, a discussion message and the advisory draft
// (one field typed, one copied from the discussion) each carry a canary.
// Under umask 022 the export file holds every one and is 0600, the text
// and JSON forms agree, the timeline records the export with the OS user,
// an existing file is never overwritten; and the state directory still
// holds none of the canaries: the export is the one place they appear in
// the clear.
func TestExportIncident(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	c := map[string]string{
		"subject":    "CNRYSUBJECT91ab",
		"body":       "CNRYBODY3f0e",
		"note":       "CNRYNOTE6c2d",
		"discussion": "CNRYSAID0d4e",
		"draft":      "CNRYDRAFT7a15",
		"followup":   "CNRYFOLLOW5e88",
	}
	cfg, key := intakeConfig(t, "")
	dir := filepath.Dir(cfg)
	run := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, stdin, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	run(string(encryptedMail(t, key, "export-1@example.net", c["subject"], c["body"]+" in the parser")), "ingest", "-config", cfg)
	followUp := strings.Replace(string(encryptedMail(t, key, "export-2@example.net", "Re: the parser", c["followup"]+" also in 2.3")),
		"Message-ID:", "In-Reply-To: <export-1@example.net>\r\nMessage-ID:", 1)
	if out := run(followUp, "ingest", "-config", cfg); strings.TrimSpace(out) != "SEC-1" {
		t.Fatalf("the follow-up did not join SEC-1: %q", out)
	}
	run("", "cmd", "-config", cfg, "-as", "alice", "--", "note", "1", c["note"])
	say(t, cfg, "bob", 1, "the overflow needs a header over 64 KiB "+c["discussion"])
	run("", "cmd", "-config", cfg, "-as", "alice", "--", "advisory", "1", "set", "title", "Overflow "+c["draft"])
	run("", "cmd", "-config", cfg, "-as", "alice", "--", "advisory", "1", "set", "description", "from", "1")

	outDir := t.TempDir()
	file := filepath.Join(outDir, "SEC-1.txt")
	if out := run("", "export", "-config", cfg, "-incident", "SEC-1", "-o", file); out != "" {
		t.Errorf("with -o, standard output got:\n%s", out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for name, canary := range c {
		if !strings.Contains(text, canary) {
			t.Errorf("the export lacks the %s canary:\n%s", name, text)
		}
	}
	for _, want := range []string{"== Discussion\n1. ", "bob (irc): the overflow", "Description: the overflow needs a header", "advisory: set description from discussion message 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the text export lacks %q:\n%s", want, text)
		}
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the export file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	code, _, errOut := runCLI(t, "", "export", "-config", cfg, "-incident", "1", "-o", file)
	if code != exitFailed || !strings.Contains(errOut, "exists") {
		t.Errorf("an export over an existing file: exit %d %s", code, errOut)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, b) {
		t.Error("a refused export changed the existing file")
	}

	var doc struct {
		ID         string
		Report     string
		Timeline   []struct{ Actor, Kind, Details string }
		Discussion []struct {
			N           int
			Actor, Text string
		}
		Advisory struct{ Title, Description string }
	}
	if err := json.Unmarshal([]byte(run("", "export", "-config", cfg, "-incident", "1", "-format", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != "SEC-1" || !strings.Contains(doc.Report, c["body"]) || len(doc.Discussion) != 1 || doc.Discussion[0].N != 1 ||
		doc.Discussion[0].Actor != "bob" || !strings.Contains(doc.Discussion[0].Text, c["discussion"]) ||
		doc.Advisory.Title != "Overflow "+c["draft"] || !strings.Contains(doc.Advisory.Description, c["discussion"]) {
		t.Errorf("json: %+v", doc)
	}
	var exports []string
	var noted, followed bool
	for _, ev := range doc.Timeline {
		noted = noted || ev.Kind == bot.EventNote && ev.Details == c["note"]
		followed = followed || ev.Kind == bot.EventFollowUp
		if ev.Kind == bot.EventExported {
			exports = append(exports, ev.Details)
		}
	}
	// Three exports ran: the file, the refused one (refused before anything
	// was read, so not recorded) and this one.
	if !noted || !followed || !strings.Contains(doc.Report, c["followup"]) || len(exports) != 2 || !strings.Contains(exports[0], "OS user "+osUser()+" to "+file) || !strings.Contains(exports[1], "to standard output") {
		t.Errorf("timeline: note %v, follow-up %v, exports %q", noted, followed, exports)
	}

	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, canary := range c {
			if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(canary))) {
				t.Errorf("%s holds the %s canary", filepath.Base(f), name)
			}
		}
	}

	for _, args := range [][]string{
		{"-incident", "1", "-format", "csv"},
		{"-incident", "1", "-sig", "core"},
		{"-incident", "first"},
		{"-o", file},
	} {
		if code, _, _ := runCLI(t, "", append([]string{"export", "-config", cfg}, args...)...); code != exitUsage {
			t.Errorf("export %v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, errOut := runCLI(t, "", "export", "-config", cfg, "-incident", "7"); code != exitFailed || !strings.Contains(errOut, "SEC-7") {
		t.Errorf("a missing incident: exit %d %s", code, errOut)
	}
}

// say records what person said in the incident's IRC channel, as the
// daemon does for a message there.
func say(t *testing.T, cfgPath, person string, id int64, text string) {
	t.Helper()
	cfg, ok := loadConfig(cfgPath, io.Discard)
	if !ok {
		t.Fatal("config")
	}
	ctx := context.Background()
	a, err := openApp(ctx, cfg, discardLogger(), appOptions{platforms: chatPlatforms(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	actor := bot.Actor{Person: a.svc.Settings().People.ByName(person), Platform: bot.PlatformIRC}
	if err := a.svc.Discuss(ctx, actor, id, bot.Said{Text: text}); err != nil {
		t.Fatal(err)
	}
}
