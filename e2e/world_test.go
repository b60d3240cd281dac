package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/internal/testenv"
	"github.com/sectriage/sectriage/internal/testenv/dovecot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
)

const (
	wait       = 30 * time.Second // for anything the daemon does on its own
	ircChannel = "#security"
	mmTeam     = "security"
	mmTriage   = "security-triage"
)

// The team, declared once in the config: alice is the security officer
// (IRC and Mattermost), bob the lead of SIG core (both), dave bob's deputy
// (IRC only), erin a contact (Mattermost only).
var (
	ircPeople = []string{"alice", "bob", "dave"}
	mmPeople  = []string{"alice", "bob", "erin"}
)

// world is everything outside the daemon: the GnuPG keys, the three
// servers set up as an operator would, and the config directory.
type world struct {
	dir    string // the config directory: sectriage.toml, secrets, keys, database
	config string // path of sectriage.toml
	listen string // [server] listen

	gpg      *gpgtest.GPG
	team     *gpgtest.Key // the team key, passphrase-protected
	reporter *gpgtest.Key // a reporter the team knows (known_keys_dir)

	imap *dovecot.Server

	irc *ircnet.Network
	// IRC clients of the team, logged in with SASL and in the triage
	// channel.
	ircUsers map[string]*ircnet.Client

	mm       *mmserver.Server
	mmTeam   *model.Team
	mmTriage *model.Channel
	mmUsers  map[string]*model.User
	mmBotID  string
}

// settings are what a test or benchmark changes in the config.
type settings struct {
	// Acknowledge is [deadlines] acknowledge; the escalation steps follow
	// it at the same scale. Empty: the defaults (48h).
	Acknowledge, DeputyAfter, OfficersAfter string
	Sweep                                   string // [schedules] sweep
	MaxBodyLines                            int    // [irc] max_body_lines
	ChannelPerIncident                      bool
	IRCChannelPerIncident                   bool // [irc] channel_per_incident: with the above, the bridge
	// Servers without which the daemon runs; the benchmarks of memory and
	// start-up use them all.
	NoIMAP bool
}

// newWorld starts the servers and writes the config. Keys come from gpg
// (passphrase in a file), secrets sit in files of mode 0600, and every
// server is reached over TLS where the operator would use it.
func newWorld(t testing.TB, s settings, keyOpts func(*gpgtest.GPG)) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), listen: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))}
	w.config = filepath.Join(w.dir, "sectriage.toml")
	w.makeKeys(t, keyOpts)
	w.startMattermost(t)
	w.startIRC(t)
	if !s.NoIMAP {
		w.imap = dovecot.Start(t, dovecot.Options{TLS: true, Mailboxes: []string{"Processed", "Quarantine"}})
		w.write(t, "imap-password", w.imap.Password)
		ca, err := os.ReadFile(w.imap.CertFile)
		if err != nil {
			t.Fatal(err)
		}
		w.write(t, "imap-ca.pem", string(ca))
	}
	w.writeConfig(t, s)
	return w
}

// write puts a file into the config directory, readable only by us.
func (w *world) write(t testing.TB, name, content string) {
	t.Helper()
	path := filepath.Join(w.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// makeKeys makes the team key and a reporter's key with gpg, as the
// operator and a reporter would. keyOpts may change the GnuPG home first.
func (w *world) makeKeys(t testing.TB, keyOpts func(*gpgtest.GPG)) {
	t.Helper()
	w.gpg = gpgtest.New(t)
	if keyOpts != nil {
		keyOpts(w.gpg)
	}
	w.team = w.gpg.GenerateKey(t, "Example Security Team", "security@example.org", gpgtest.KeyOptions{Passphrase: "correct horse battery staple"})
	w.reporter = w.gpg.GenerateKey(t, "Rita Reporter", "rita@example.net", gpgtest.KeyOptions{})
	w.write(t, "team-secret.asc", string(w.team.SecretKey))
	w.write(t, "team-passphrase", w.team.Passphrase+"\n")
	w.write(t, "known-keys/rita.asc", string(w.reporter.PublicKey))
}

// startMattermost makes the team, the people, the bot with its token, the
// private triage channel and the /sec command pointing at the daemon's
// listener, through the API.
func (w *world) startMattermost(t testing.TB) {
	t.Helper()
	s := mmserver.Start(t)
	w.mm = s
	w.mmTeam = s.CreateTeam(t, mmTeam)
	w.mmUsers = map[string]*model.User{}
	for _, name := range mmPeople {
		u, _ := s.CreateUser(t, name)
		s.AddToTeam(t, w.mmTeam.Id, u.Id)
		w.mmUsers[name] = u
	}
	botID, token := s.CreateBot(t, "sectriage", w.mmTeam.Id)
	w.mmBotID = botID
	w.mmTriage = s.CreateChannel(t, w.mmTeam.Id, mmTriage, true)
	for _, id := range []string{w.mmUsers["alice"].Id, w.mmUsers["bob"].Id, w.mmUsers["erin"].Id, botID} {
		s.AddToChannel(t, w.mmTriage.Id, id)
	}
	slash := s.CreateSlashCommand(t, w.mmTeam.Id, "sec", "http://"+w.listen+"/mattermost/command")
	w.write(t, "mattermost-token", token+"\n")
	w.write(t, "mattermost-slash-token", slash.Token+"\n")
	w.write(t, "mattermost-button-secret", "cb0d1e6c0c9f4b3aa3b1d4f5e6a7b8c9\n")
}

// startIRC registers the accounts and has alice make the triage channel
// as README recommends: +s, +i and a key, registered with ChanServ, where
// the bot's account has the AOP level (auto-op and invitations: the bot
// asks ChanServ to invite it into the +i channel). alice invites bob and
// dave.
func (w *world) startIRC(t testing.TB) {
	t.Helper()
	n := ircnet.Start(t, ircnet.Options{})
	w.irc = n
	pairs := []string{"sectriage", "bot-pw"}
	var specs []ircnet.Spec
	for _, p := range ircPeople {
		pairs = append(pairs, p, p+"-pw")
		specs = append(specs, ircnet.Spec{Addr: n.Addr(), Nick: p, Opts: ircnet.ClientOptions{Account: p, Password: p + "-pw",
			Caps: []string{"server-time", "message-tags", "account-tag"}}})
	}
	n.RegisterAccounts(t, pairs...)
	clients := ircnet.DialAll(t, specs...)
	w.ircUsers = map[string]*ircnet.Client{}
	for i, p := range ircPeople {
		w.ircUsers[p] = clients[i]
	}
	alice := w.ircUsers["alice"]
	alice.Join(ircChannel, "")
	alice.Expect(t, wait, ircnet.Cmd("JOIN", ircChannel))
	alice.Mode(ircChannel, "+sik", "chan-key")
	alice.Expect(t, wait, ircnet.Cmd("MODE", ircChannel))
	chanServ := func(cmd, reply string) {
		alice.Privmsg("ChanServ", cmd)
		alice.Expect(t, wait, func(l ircnet.Line) bool {
			return l.Nick() == "ChanServ" && l.Command == "NOTICE" && strings.Contains(l.Param(1), reply)
		})
	}
	chanServ("REGISTER "+ircChannel, "registered")
	chanServ("ACCESS "+ircChannel+" ADD sectriage 5", "added")
	for _, p := range ircPeople[1:] {
		alice.Send("INVITE " + p + " " + ircChannel)
		c := w.ircUsers[p]
		c.Expect(t, wait, ircnet.Cmd("INVITE"))
		c.Join(ircChannel, "chan-key")
		c.Expect(t, wait, ircnet.Cmd("JOIN", ircChannel))
	}
	w.write(t, "irc-password", "bot-pw\n")
	w.write(t, "irc-channel-key", "chan-key\n")
}

func (w *world) writeConfig(t testing.TB, s settings) {
	t.Helper()
	data := struct {
		settings
		Listen, MMURL, IRCAddr, IRCPin string
		IMAP                           *dovecot.Server
	}{settings: s, Listen: w.listen, MMURL: w.mm.URL(), IRCAddr: w.irc.TLSAddr(), IRCPin: w.irc.CertFingerprint, IMAP: w.imap}
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	w.write(t, "sectriage.toml", b.String())
}

// configTemplate is sectriage.toml as an operator writes it, from
// config.example.toml: relative paths (to the config's directory),
// secrets in files. [intake] acknowledge is off because no SMTP server
// runs here.
var configTemplate = template.Must(template.New("sectriage.toml").Parse(`
timezone = "UTC"

[storage]
path = "sectriage.db"

[log]
level = "info"
format = "text"

[keys]
team_key_file = "team-secret.asc"
passphrase_file = "team-passphrase"
known_keys_dir = "known-keys"

[server]
listen = "{{.Listen}}"
public_url = "http://{{.Listen}}"

[intake]
acknowledge = false
{{if .IMAP}}
[email.imap]
address = "{{.IMAP.TLSAddr}}"
tls = "implicit"
ca_file = "imap-ca.pem"
username = "{{.IMAP.Username}}"
password_file = "imap-password"
mailbox = "INBOX"
done_mailbox = "Processed"
quarantine_mailbox = "Quarantine"
poll_interval = "1m"
{{end}}
[[people]]
name = "alice"
role = "officer"
mattermost = "alice"
irc_account = "alice"
email = "alice@example.org"

[[people]]
name = "bob"
role = "member"
mattermost = "bob"
irc_account = "bob"

[[people]]
name = "dave"
role = "member"
irc_account = "dave"

[[people]]
name = "erin"
role = "member"
mattermost = "erin"

[[sigs]]
name = "core"
default = true
lead = "bob"
deputies = ["dave"]
contacts = ["bob", "dave", "erin"]
{{if .Acknowledge}}
[deadlines]
acknowledge = "{{.Acknowledge}}"

[escalation]
deputy_after = "{{.DeputyAfter}}"
officers_after = "{{.OfficersAfter}}"
repeat = "1h"
{{end}}
[schedules]
sweep = "{{or .Sweep "@every 5m"}}"
reminders = ""
digest = ""

[mattermost]
url = "{{.MMURL}}"
token_file = "mattermost-token"
team = "security"
triage_channel = "security-triage"
channel_per_incident = {{.ChannelPerIncident}}
slash_token_file = "mattermost-slash-token"
button_secret_file = "mattermost-button-secret"
trusted_members = ["admin"]

[irc]
server = "{{.IRCAddr}}"
tls = true
pin = "{{.IRCPin}}"
nick = "sectriage"
sasl = { mechanism = "PLAIN", account = "sectriage", password_file = "irc-password" }
triage_channel = { name = "#security", key_file = "irc-channel-key" }
manage_modes = true
# The most the config allows: 10 lines at once, then one a second.
rate = { burst = 10, per_line = "1s" }
max_body_lines = {{.MaxBodyLines}}
reconnect = { min = "1s", max = "5s" }
channel_per_incident = {{.IRCChannelPerIncident}}
`))

// report is a PGP/MIME report from the known reporter, signed and with
// protected headers, as Thunderbird sends it.
func (w *world) report(t testing.TB, subject, body string) []byte {
	t.Helper()
	return w.gpg.PGPMIME(t, gpgtest.Mail{From: "Rita Reporter <rita@example.net>", Subject: subject, Body: body},
		[]*gpgtest.Key{w.team}, gpgtest.MIMEOptions{SignWith: w.reporter, ProtectedHeaders: true})
}
