package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/internal/testenv/dovecot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
	"github.com/sectriage/sectriage/teamkey"
)

// canaries hands out unique strings to plant in reports and remembers
// them, so that logs can be searched for every one.
type canaries struct{ list []string }

func (c *canaries) next(kind string) string {
	b := make([]byte, 5)
	rand.Read(b)
	s := fmt.Sprintf("CNRY%s%d%s", kind, len(c.list), hex.EncodeToString(b))
	c.list = append(c.list, s)
	return s
}

// hostileCorpus builds the messages intake must cope with, good and bad,
// each carrying canaries in its subject and body (and, where there is one,
// in the sender's address, an attachment's name and the text around an
// inline block).
func hostileCorpus(t *testing.T, g *gpgtest.GPG, team *gpgtest.Key, signer *gpgtest.Key, c *canaries) map[string][]byte {
	t.Helper()
	to := []*gpgtest.Key{team}
	mail := func() gpgtest.Mail {
		return gpgtest.Mail{From: "Rita Reporter <" + strings.ToLower(c.next("A")) + "@example.net>", Subject: c.next("S"),
			Body: "Hello,\n\n" + c.next("B") + " the parser overflows.\n\nRegards\n"}
	}
	body := func() []byte {
		return []byte("Content-Type: text/plain\r\n\r\n" + c.next("B") + " " + strings.Repeat("padding for the tamper ", 4) + "\r\n")
	}
	out := map[string][]byte{
		"pgp-mime":              g.PGPMIME(t, mail(), to, gpgtest.MIMEOptions{}),
		"protected headers":     g.PGPMIME(t, mail(), to, gpgtest.MIMEOptions{ProtectedHeaders: true}),
		"signed, unknown key":   g.PGPMIME(t, mail(), to, gpgtest.MIMEOptions{SignWith: signer, SignedInner: true}),
		"html":                  g.PGPMIME(t, gpgtest.Mail{Subject: c.next("S"), HTML: true, Body: "<p>" + c.next("B") + "</p><script>" + c.next("B") + "</script>"}, to, gpgtest.MIMEOptions{}),
		"latin-1":               g.PGPMIME(t, gpgtest.Mail{Subject: c.next("S"), Charset: "ISO-8859-1", Body: "Grüße " + c.next("B")}, to, gpgtest.MIMEOptions{}),
		"inline with text":      g.InlineMail(t, mail(), to, gpgtest.InlineOptions{Before: "Before " + c.next("B"), After: "After " + c.next("B")}),
		"encrypted attachment":  g.AttachmentMail(t, mail(), to, gpgtest.AttachmentOptions{Filename: c.next("F") + ".txt.asc", Content: []byte(c.next("B") + "\n")}),
		"plaintext":             gpgtest.PlainMail(t, mail()),
		"wrong key":             gpgtest.PGPMIMEEnvelope(gpgtest.Mail{Subject: c.next("S")}, g.WrongRecipient(t, body())),
		"tampered":              gpgtest.PGPMIMEEnvelope(gpgtest.Mail{Subject: c.next("S")}, g.Tampered(t, body(), to)),
		"no integrity":          gpgtest.PGPMIMEEnvelope(gpgtest.Mail{Subject: c.next("S")}, g.NoMDC(t, body(), to)),
		"truncated armor":       gpgtest.PGPMIMEEnvelope(gpgtest.Mail{Subject: c.next("S")}, gpgtest.TruncateArmor(g.Encrypt(t, body(), to, gpgtest.EncryptOptions{}))),
		"garbage armor":         gpgtest.PGPMIMEEnvelope(gpgtest.Mail{Subject: c.next("S")}, gpgtest.GarbageArmor()),
		"broken boundary":       gpgtest.BrokenBoundaryMail(gpgtest.Mail{Subject: c.next("S")}, g.Encrypt(t, body(), to, gpgtest.EncryptOptions{})),
		"too deep":              gpgtest.DeepNestingMail(mail(), 40),
		"too large":             g.OversizedMail(t, mail(), to, 300<<10),
		"compression bomb":      gpgtest.PGPMIMEEnvelope(gpgtest.Mail{Subject: c.next("S")}, g.CompressionBomb(t, to, 8<<20)),
		"malformed header line": []byte("From: reporter@example.net\r\nSubject: " + c.next("S") + "\r\n" + c.next("H") + " no colon here\r\nContent-Type: text/plain\r\n\r\n" + c.next("B") + "\r\n"),
		"bad content type":      []byte("From: reporter@example.net\r\nSubject: " + c.next("S") + "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" + c.next("H") + "\r\n\r\n" + c.next("B") + "\r\n"),
		"encoded subject":       []byte("From: reporter@example.net\r\nSubject: =?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(c.next("S"))) + "?=\r\nContent-Type: text/plain\r\n\r\n" + c.next("B") + "\r\n"),
	}
	return out
}

// TestLogsHoldNoReportContentOrSecrets runs the hostile corpus through
// every way in (sectriage ingest, IMAP, the web form) and the daemon's
// outbox to real IRC and Mattermost servers, runs the commands that show
// reports, and then searches every log line, at debug level, for the
// canaries planted in subjects, bodies and attachment names, and for every
// secret the daemon read from its files.
func TestLogsHoldNoReportContentOrSecrets(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := &canaries{}
	secrets := opsSecrets{ircPassword: "ircpw" + c.next("X"), channelKey: "key" + c.next("X")[:12], passphrase: "pass " + c.next("X")}
	imapPassword := "imap-" + c.next("X")
	buttonSecret := "button-" + c.next("X")

	g := gpgtest.New(t)
	team := g.GenerateKey(t, "Security Team", "security@example.org", gpgtest.KeyOptions{Passphrase: secrets.passphrase})
	signer := g.GenerateKey(t, "Sam Stranger", "sam@example.com", gpgtest.KeyOptions{})
	corpus := hostileCorpus(t, g, team, signer, c)

	mail := dovecot.Start(t, dovecot.Options{TLS: true, Password: imapPassword, Mailboxes: []string{"Processed"}})
	mm := mmserver.Start(t)
	mmTeam := mm.CreateTeam(t, "security")
	alice, _ := mm.CreateUser(t, "alice")
	mm.AddToTeam(t, mmTeam.Id, alice.Id)
	botID, mmToken := mm.CreateBot(t, "sectriage", mmTeam.Id)
	triage := mm.CreateChannel(t, mmTeam.Id, "security-triage", true)
	mm.AddToChannel(t, triage.Id, alice.Id)
	mm.AddToChannel(t, triage.Id, botID)
	addr := freeAddr(t)
	slash := mm.CreateSlashCommand(t, mmTeam.Id, "sec", "http://"+addr+"/mattermost/command")

	people := strings.Replace(opsPeople, `irc_account = "alice"`, `irc_account = "alice"
mattermost = "alice"`, 1)
	d := startOpsDaemonWith(t, opsOptions{secrets: secrets, addr: addr, teamKey: team.SecretKey, people: people,
		files: map[string]string{"mm-token": mmToken + "\n", "slash-token": slash.Token + "\n", "button-secret": buttonSecret + "\n",
			"imap-password": imapPassword + "\n"},
		extra: `max_body_lines = 2

[intake]
form_rate_limit = 100 # the test posts more than the default 5 an hour
max_message_size = "256KiB"
max_decrypted_size = "1MiB"

[email.imap]
address = "` + mail.TLSAddr + `"
ca_file = "` + mail.CertFile + `"
username = "` + mail.Username + `"
password_file = "imap-password"
poll_interval = "1s"

[mattermost]
url = "` + mm.URL() + `"
token_file = "mm-token"
team = "security"
triage_channel = "security-triage"
slash_token_file = "slash-token"
button_secret_file = "button-secret"
trusted_members = ["admin"]
`})

	// Every message by the MTA pipe, each in its own `sectriage ingest`,
	// in a fixed order: IRC is paced at a line a second, and the wait for
	// report content on IRC below must not depend on the map's order.
	var logs []string
	for _, name := range slices.Sorted(maps.Keys(corpus)) {
		raw := corpus[name]
		code, out, stderr := runCLI(t, string(raw), "ingest", "-config", d.path)
		logs = append(logs, stderr)
		if code != exitOK {
			t.Errorf("ingest %s: exit %d %s %s", name, code, out, stderr)
		}
	}
	// A few by IMAP.
	for _, name := range []string{"protected headers", "wrong key", "malformed header line"} {
		// Another Message-ID, so it is not a re-delivery of the piped one.
		raw := strings.Replace(string(corpus[name]), "Message-ID: <", "Message-ID: <imap-", 1)
		mail.Deliver(t, []byte(raw))
	}
	mail.WaitMessages(t, "Processed", time.Minute, func(m []dovecot.MessageInfo) bool { return len(m) == 3 })
	// The web form: plain, encrypted in the browser, damaged, form-encoded.
	armored, err := teamkey.EncryptTo([]byte(c.next("B")+"\n"), d.key.Entity(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var oneLine string // the incident of the first: its whole report is one canary line
	for i, fields := range []map[string]string{
		{"email": strings.ToLower(c.next("A")) + "@example.net", "subject": c.next("S"), "body": c.next("B")},
		{"email": strings.ToLower(c.next("A")) + "@example.net", "subject": c.next("S"), "body": string(armored), "name": c.next("N")},
		{"subject": c.next("S"), "body": string(gpgtest.GarbageArmor())},
	} {
		code, out := postReport(t, d.base, fields)
		if code != http.StatusCreated && code != http.StatusAccepted {
			t.Errorf("POST /report: %d %v", code, out)
		}
		if i == 0 {
			oneLine, _ = out["incident"].(string)
		}
	}
	if oneLine == "" {
		t.Fatal("the plain form report became no incident")
	}
	form := url.Values{"subject": {c.next("S")}, "body": {c.next("B")}}
	if resp, err := http.PostForm(d.base+"/report", form); err != nil || resp.StatusCode != http.StatusCreated {
		t.Errorf("form POST: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Commands that show report content, and a note with a canary. The
	// first shows a report whose canary is its first line, so report
	// content reaches IRC within seconds: the channel's own posts, paced at
	// a line a second behind a dozen incidents in whatever order the corpus
	// was ingested, may show none within the minute below (max_body_lines
	// = 2 cuts the longer reports before their canary).
	d.bob.Privmsg("sectriage", "show "+strings.TrimPrefix(oneLine, "SEC-"))
	d.bob.Privmsg("#sec", "!show 1")
	d.bob.Privmsg("#sec", "!list")
	d.bob.Privmsg("#sec", "!note 1 "+c.next("N"))
	d.bob.Privmsg("sectriage", "show 2")
	aliceMM := mm.UserClient(t, "alice")
	resp, _, err := aliceMM.ExecuteCommand(ctx, triage.Id, "/sec show 1")
	if err != nil || !strings.Contains(resp.Text, "CNRYB") {
		t.Errorf("/sec show 1 shows no report body: %v %+v", err, resp)
	}
	if _, _, err := aliceMM.ExecuteCommand(ctx, triage.Id, "/sec note 2 "+c.next("N")); err != nil {
		t.Error(err)
	}

	// The outbox delivers what all this queued to Mattermost, and to IRC,
	// paced at a line a second: what is still queued for IRC is withheld
	// below, when the channel goes public (a path whose logs must be clean
	// too). Report content has reached IRC once the first show's answer is
	// there.
	d.bob.Expect(t, time.Minute, func(l ircnet.Line) bool {
		return l.Nick() == "sectriage" && strings.Contains(l.Param(1), "CNRYB") // report content did reach IRC
	})
	deadline := time.Now().Add(time.Minute)
	for {
		_, body := d.get("/metrics")
		if series(t, body)[`sectriage_outbox_pending_messages{platform="mattermost"}`] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Mattermost's queue still not delivered after a minute:\n%s", body)
		}
		time.Sleep(200 * time.Millisecond) // polling the outbox drain
	}

	// The failure paths log errors from the adapters: make deliveries fail.
	// A triage channel that went public holds posts until it is private
	// again; a server that is down makes them wait.
	mm.ConvertChannelToPublic(t, triage.Id)
	d.alice.Mode("#sec", "-s")
	d.waitLog(`"msg":"IRC channel is not private`, 1)
	if code, out := postReport(t, d.base, map[string]string{"subject": c.next("S"), "body": c.next("B")}); code != http.StatusCreated {
		t.Errorf("POST /report: %d %v", code, out)
	}
	d.waitLog(`"msg":"message held: its destination fails the privacy rule"`, 1)
	mm.StopMattermost(t)
	if code, out := postReport(t, d.base, map[string]string{"subject": c.next("S"), "body": c.next("B")}); code != http.StatusCreated {
		t.Errorf("POST /report: %d %v", code, out)
	}
	d.waitLog(`"msg":"delivery failed, will retry"`, 1)
	d.stop()
	logs = append(logs, d.log.String())

	all := strings.Join(logs, "\n")
	for _, want := range []string{`"msg":"report became an incident"`, `"msg":"message quarantined"`, `"level":"DEBUG"`,
		`"msg":"message handled"`, `"msg":"websocket connected"`, `"msg":"message held: its destination fails the privacy rule"`, `"msg":"delivery failed, will retry"`} {
		if !strings.Contains(all, want) {
			t.Errorf("the logs lack %s: the test did not exercise what it should", want)
		}
	}
	secretList := map[string]string{
		"IRC SASL password": secrets.ircPassword, "IRC channel key": secrets.channelKey, "team key passphrase": secrets.passphrase,
		"Mattermost token": mmToken, "slash command token": slash.Token, "button secret": buttonSecret, "IMAP password": imapPassword,
		"SASL PLAIN payload":              base64.StdEncoding.EncodeToString([]byte("sectriage\x00sectriage\x00" + secrets.ircPassword)),
		"SASL PLAIN payload (no authzid)": base64.StdEncoding.EncodeToString([]byte("\x00sectriage\x00" + secrets.ircPassword)),
	}
	for what, v := range secretList {
		if strings.Contains(all, v) {
			t.Errorf("a log holds the %s", what)
		}
	}
	leaked := 0
	for _, canary := range c.list {
		if strings.HasPrefix(canary, "CNRYX") {
			continue // part of a secret, checked above
		}
		for _, l := range strings.Split(all, "\n") {
			if strings.Contains(strings.ToLower(l), strings.ToLower(canary)) {
				leaked++
				t.Errorf("a log line holds report content %s:\n%s", canary, l)
			}
		}
	}
	t.Logf("%d canaries, %d secrets, %d log lines searched; %d leaks", len(c.list), len(secretList), strings.Count(all, "\n"), leaked)
}
