package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv/dovecot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// Canaries: report content and secrets that must reach the private
// channels (the content) and never the daemon's log (any of them).
const (
	subjectCanary = "SUBJ-CANARY-5c1e"
	bodyCanary    = "BODY-CANARY-9d27"
)

// TestEndToEnd follows reports through the real binary and servers: from
// the mailbox (IMAP IDLE) and `sectriage ingest` to the private IRC and
// Mattermost channels, a !claim on IRC, /sec commands on Mattermost, an
// escalation of an incident nobody acknowledged, a quarantined message,
// and a graceful stop. Deadlines are seconds long, so the escalation
// happens while the test waits for it.
func TestEndToEnd(t *testing.T) {
	start := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	w := newWorld(t, settings{
		Acknowledge: "3s", DeputyAfter: "2s", OfficersAfter: "4s", Sweep: "@every 1s",
		MaxBodyLines: 3, ChannelPerIncident: true,
	}, nil)
	step("servers up, config written")
	if r := runBinary(t, nil, "check", "-config", w.config); r.code != 0 {
		t.Fatalf("sectriage check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mmAlice := w.watchMattermost(t, "alice")
	ircAlice, bob, dave := w.ircUsers["alice"], w.ircUsers["bob"], w.ircUsers["dave"]

	step("check passed")
	d := startDaemon(t, w.config)
	d.waitReady(t, wait)
	step("daemon ready")

	// A hostile subject: a CTCP ACTION, a channel-wide mention and a link.
	subject := "Heap overflow in the SIP parser \x01ACTION owns you\x01 @channel [click](https://evil.example/x) " + subjectCanary
	w.imap.Deliver(t, w.report(t, subject, "Sending a REGISTER with a long Via header overflows.\n"+bodyCanary+"\n"))

	// IRC: the announcement, with the control bytes made visible.
	l := ircAlice.Seen(t, wait, fromBot("PRIVMSG", ircChannel, "New incident SEC-1", "Heap overflow in the SIP parser"))
	if strings.ContainsAny(l.Raw, "\x01\x02\x03\x0f") || !strings.Contains(l.Raw, subjectCanary) {
		t.Errorf("IRC announcement not neutralised: %q", l.Raw)
	}
	ircAlice.Seen(t, wait, fromBot("PRIVMSG", ircChannel, "| ", bodyCanary)) // the body, quoted, in the private channel
	// Mattermost: the incident's own private channel; @channel notified nobody.
	p := mmAlice.waitPost(t, wait, "SEC-1", w.byBot("P", "SEC-1", "Heap overflow in the SIP parser"))
	if p.Mentions != "" {
		t.Errorf("the SEC-1 post notified %s: %q", p.Mentions, p.Message)
	}
	mmAlice.waitPost(t, wait, "the report of SEC-1", w.byBot("P", bodyCanary))
	// The mailbox: moved out of the INBOX once the incident was committed.
	w.imap.WaitMessages(t, "Processed", wait, func(ms []dovecot.MessageInfo) bool { return len(ms) == 1 })

	step("SEC-1 posted on IRC and Mattermost")

	// !claim on IRC by bob, logged in to his account with SASL.
	bob.Privmsg(ircChannel, "!claim 1")
	bob.Seen(t, wait, fromBot("NOTICE", ircChannel, "bob: You claimed SEC-1"))
	show := w.show(t, 1)
	for _, want := range []string{"State: triage", "Assignee: bob", "bob (irc)  claimed: claimed by bob"} {
		if !strings.Contains(show, want) {
			t.Errorf("show 1 lacks %q:\n%s", want, show)
		}
	}

	step("SEC-1 claimed on IRC")

	// /sec on Mattermost by alice.
	if resp := w.slash(t, "alice", "/sec severity 1 high"); !strings.Contains(resp.Text, "SEC-1: severity unknown → high") {
		t.Errorf("/sec severity: %q", resp.Text)
	}
	if show := w.show(t, 1); !strings.Contains(show, "alice (mattermost)  severity: unknown → high") {
		t.Errorf("show 1 lacks the severity change:\n%s", show)
	}

	step("severity set on Mattermost")

	// Nobody acknowledges SEC-2: its assignee bob, then the deputy dave
	// (on IRC), then the officer alice (by direct message on Mattermost)
	// are asked.
	w.imap.Deliver(t, w.report(t, "Path traversal in the archive export", "GET /export?path=../../etc/passwd\n"))
	mmAlice.waitPost(t, wait, "SEC-2", w.byBot("P", "SEC-2", "Path traversal"))
	dave.Seen(t, wait, fromBot("PRIVMSG", "dave", "escalation: ", "SEC-2", "As deputy of SIG core"))
	mmAlice.waitPost(t, wait, "the officers' escalation of SEC-2", w.byBot("D", "escalation to the security officers", "SEC-2"))
	ircAlice.Seen(t, wait, fromBot("PRIVMSG", ircChannel, "SEC-2: acknowledge deadline passed", "escalated to the security officers: alice"))
	if resp := w.slash(t, "erin", "/sec ack 2"); !strings.Contains(resp.Text, "SEC-2") {
		t.Errorf("/sec ack 2: %q", resp.Text)
	}
	if show := w.show(t, 2); !strings.Contains(show, "State: triage") || !strings.Contains(show, "erin (mattermost)") {
		t.Errorf("show 2 after /sec ack:\n%s", show)
	}

	step("SEC-2 escalated and acknowledged")

	// The MTA path: `sectriage ingest` commits the incident in the same
	// database; the running daemon's outbox posts it.
	r := runBinary(t, w.report(t, "CSRF on the settings page", "No token on POST /settings.\n"), "ingest", "-config", w.config)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "SEC-3" {
		t.Fatalf("ingest: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	ircAlice.Seen(t, wait, fromBot("PRIVMSG", ircChannel, "New incident SEC-3", "CSRF on the settings page"))
	mmAlice.waitPost(t, wait, "SEC-3", w.byBot("P", "SEC-3", "CSRF on the settings page"))

	step("SEC-3 from ingest posted")

	// A message for another key is quarantined, and the team is told.
	stranger := gpgtest.PGPMIMEEnvelope(gpgtest.Mail{From: "mallory@example.com", Subject: "For someone else"},
		w.gpg.WrongRecipient(t, []byte("not for you")))
	w.imap.Deliver(t, stranger)
	w.imap.WaitMessages(t, "Quarantine", wait, func(ms []dovecot.MessageInfo) bool { return len(ms) == 1 })
	ircAlice.Seen(t, wait, fromBot("PRIVMSG", ircChannel, "Quarantined a message", "mallory@example.com", "wrong-key"))
	mmAlice.waitPost(t, wait, "the quarantine notice", w.byBot("P", "Quarantined a message", "Q-1"))

	step("quarantine notice posted")

	// SIGTERM: a graceful stop (stop checks exit 0), saying QUIT on IRC.
	d.stop(t)
	ircAlice.Seen(t, wait, func(l ircnet.Line) bool { return l.Nick() == "sectriage" && l.Command == "QUIT" })
	w.checkLogClean(t, d.logText())
}

// show runs `sectriage cmd -as alice -- show id` beside the daemon, as an
// operator on the host would, and returns the reply.
func (w *world) show(t testing.TB, id int) string {
	t.Helper()
	r := runBinary(t, nil, "cmd", "-config", w.config, "-as", "alice", "--", "show", fmt.Sprint(id))
	if r.code != 0 {
		t.Fatalf("show %d: exit %d\n%s%s", id, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// checkLogClean fails the test if the daemon's log holds report content or
// any secret from the config directory.
func (w *world) checkLogClean(t testing.TB, log string) {
	t.Helper()
	secrets := map[string]string{"subject": subjectCanary, "body": bodyCanary}
	for _, name := range []string{"team-passphrase", "mattermost-token", "mattermost-slash-token",
		"mattermost-button-secret", "irc-password", "irc-channel-key", "imap-password"} {
		b, err := os.ReadFile(filepath.Join(w.dir, name))
		if err != nil {
			continue // not configured in this world
		}
		secrets[name] = strings.TrimSpace(string(b))
	}
	for what, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the daemon's log shows the %s", what)
		}
	}
}
