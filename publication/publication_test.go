package publication_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/emersion/go-smtp"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/internal/testenv/dovecot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/publication"
	"github.com/sectriage/sectriage/publish"
	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sink is an SMTP server that keeps what it receives, and refuses every
// recipient with a temporary error while down is set.
type sink struct {
	addr  string
	mu    sync.Mutex
	down  bool
	mails []sunk
}

type sunk struct {
	to   string
	data []byte
}

func startSink(t *testing.T) *sink {
	s := &sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *sink) received() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.mails...)
}

func (s *sink) setDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

type session struct {
	s  *sink
	to []string
}

func (ss *session) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.down {
		return &smtp.SMTPError{Code: 451, Message: "try again later"}
	}
	ss.to = append(ss.to, to)
	return nil
}
func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	for _, to := range ss.to {
		ss.s.mails = append(ss.s.mails, sunk{to: to, data: b})
	}
	return nil
}
func (ss *session) Reset()        { ss.to = nil }
func (ss *session) Logout() error { return nil }

const reportCanary = "CANARY-REPORT-SUBJECT-7f3a"

type fixture struct {
	db    *storage.DB
	svc   *bot.Service
	reg   *commands.Registry
	pub   *publication.Publisher
	sink  *sink
	g     *gpgtest.GPG
	teamG *gpgtest.Key
	dir   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	g := gpgtest.New(t)
	teamG := g.GenerateKey(t, "Example Security Team", "security@example.org", gpgtest.KeyOptions{Passphrase: "pw"})
	distrosG := g.GenerateKey(t, "Distros List", "distros@example.org", gpgtest.KeyOptions{})
	team, err := teamkey.Load(teamG.SecretKey, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	// As the daemon does (publication_wire.go): the key loads locked.
	signer, err := team.Signer(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	known, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(distrosG.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "st.db"), discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	people, err := bot.NewPeople([]bot.Person{
		{Name: "alice", Role: bot.RoleOfficer}, {Name: "carol", Role: bot.RoleOfficer},
		{Name: "bob", Role: bot.RoleMember}, {Name: "dave", Role: bot.RoleMember},
	})
	if err != nil {
		t.Fatal(err)
	}
	settings := &bot.Settings{
		People: people, SIGs: []*bot.SIG{{Name: "core", Lead: "bob", Contacts: []string{"bob"}}}, DefaultSIG: "core",
		Deadlines: bot.DefaultDeadlines(), Platforms: []string{bot.PlatformConsole}, ReporterMail: true,
		Publication: bot.PublicationPolicy{Approvals: 2, RequireCVE: true, BaseURL: "https://security.example.org", DistrosList: "distros@example.org"},
	}
	svc := bot.NewService(db, bot.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)), discard(), settings)
	s := startSink(t)
	mailer := email.NewMailer(email.SMTPOptions{Address: s.addr, TLS: "none", From: "security@example.org", Timeout: 10 * time.Second}, team, nil, discard())
	dir := t.TempDir()
	pub, err := publication.New(svc, publication.Options{
		Site:      publish.Settings{Vendor: "Example", Project: "Example Project", BaseURL: "https://security.example.org", OSVPrefix: "x_EXAMPLE-"},
		Policy:    publish.Policy{Scope: "libsip and its tools.", Mail: "security@example.org", Disclosure: "We publish when the fix is out.", Deadlines: bot.DefaultDeadlines()},
		OutputDir: dir, Lists: []string{"announce@example.org", "users@example.org"}, DistrosList: "distros@example.org",
		KnownKeys: known, Signer: signer, Mailer: mailer,
	}, discard())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := commands.New(svc, discard(), commands.Options{Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: reportCanary, Reporter: "rita@example.net", Encrypted: true}); err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, svc: svc, reg: reg, pub: pub, sink: s, g: g, teamG: teamG, dir: dir}
}

func (f *fixture) run(t *testing.T, who, line string) commands.Reply {
	t.Helper()
	return f.reg.Run(context.Background(), bot.Actor{Person: f.svc.Settings().People.ByName(who), Platform: bot.PlatformConsole}, line, true)
}

func (f *fixture) must(t *testing.T, who, line string) string {
	t.Helper()
	r := f.run(t, who, line)
	if r.Failed {
		t.Fatalf("%s as %s: %s", line, who, bot.RenderPlain(r.Text))
	}
	return bot.RenderPlain(r.Text)
}

// draft is the README's demo flow up to the approvals.
func (f *fixture) draft(t *testing.T) {
	for _, l := range []string{"ack 1", "confirm 1", "cve 1 CVE-2026-10001"} {
		f.must(t, "alice", l)
	}
	for _, l := range []string{
		"advisory 1 set title Heap overflow in the SIP parser",
		"advisory 1 set summary A long SIP header overflows a heap buffer.",
		"advisory 1 set description A Via header longer than 64 KiB overflows the parser buffer, so a remote attacker can crash the server.",
		"advisory 1 affected libsip 1.4: 1.4.0..1.4.3",
		"advisory 1 affected libsip 1.5: 1.5.0..1.5.1",
		"advisory 1 ref patch https://git.example.org/libsip/commit/0a1b2c",
		"advisory 1 credit finder Rita R.",
	} {
		f.must(t, "bob", l)
	}
}

// TestPublishEndToEnd walks an incident from draft to publication through
// the commands and checks every output: the files and the served pages,
// the CVE and OSV records, the announcement received by a real mail
// server and verified by gpg, the reporter's mail, the state; then a
// publication whose mail failed is finished by running it again.
func TestPublishEndToEnd(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.draft(t)
	if r := f.run(t, "alice", "publish 1 now"); !r.Failed || !strings.Contains(bot.RenderPlain(r.Text), "approvals of the text") {
		t.Fatalf("unapproved publication: %s", bot.RenderPlain(r.Text))
	}
	f.must(t, "dave", "approve 1")
	f.must(t, "carol", "approve 1")

	// The first run: the lists' server is down.
	f.sink.setDown(true)
	got := f.must(t, "alice", "publish 1 now")
	if !strings.Contains(got, "published as 2026-1") || !strings.Contains(got, "Failed: the announcement to announce@example.org") {
		t.Fatalf("first run: %s", got)
	}
	for _, name := range []string{"advisories/index.html", "advisories/2026-1.html", "advisories/CVE-2026-10001.json",
		"advisories/x_EXAMPLE-2026-1.json", "advisories/feed.atom", "security/index.html"} {
		b, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatalf("%s not written: %v", name, err)
		}
		if bytes.Contains(b, []byte(reportCanary)) {
			t.Errorf("%s contains the report's subject", name)
		}
	}
	var osv struct {
		ID      string   `json:"id"`
		Aliases []string `json:"aliases"`
	}
	b, _ := os.ReadFile(filepath.Join(f.dir, "advisories", "x_EXAMPLE-2026-1.json"))
	if err := json.Unmarshal(b, &osv); err != nil || osv.ID != "x_EXAMPLE-2026-1" || len(osv.Aliases) != 1 || osv.Aliases[0] != "CVE-2026-10001" {
		t.Errorf("OSV record: %+v %v", osv, err)
	}
	inc, _ := f.db.Incident(ctx, 1)
	if inc.State != bot.StateDisclosed {
		t.Errorf("incident is %s after publication", inc.State)
	}
	if len(f.sink.received()) != 0 {
		t.Fatal("mail went through a server that was down")
	}

	// The pages on the listener, as mounted by the daemon.
	srv := httptest.NewServer(f.pub.Handler())
	defer srv.Close()
	for path, want := range map[string]string{"/advisories/": "Heap overflow in the SIP parser", "/advisories/2026-1.html": "Rita R.", "/security/": "libsip and its tools."} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d, CSP %q, lacks %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"), want)
		}
	}

	// The second run finishes: both lists, once.
	f.sink.setDown(false)
	got = f.must(t, "alice", "publish 1 now")
	if !strings.Contains(got, "already published") || !strings.Contains(got, "Announced to announce@example.org, users@example.org") {
		t.Fatalf("second run: %s", got)
	}
	got = f.must(t, "alice", "publish 1 now")
	if strings.Contains(got, "Announced") || len(f.sink.received()) != 2 {
		t.Fatalf("third run mailed again: %s (%d mails)", got, len(f.sink.received()))
	}
	mails := f.sink.received()
	raw := mails[0].data
	if !bytes.Contains(raw, []byte("Content-Transfer-Encoding: quoted-printable")) {
		t.Fatalf("announcement is not quoted-printable:\n%s", raw)
	}

	// Received by a real mail server (Dovecot), read back over IMAP, and
	// verified by gpg as a subscriber would.
	dc := dovecot.Start(t, dovecot.Options{})
	dc.Deliver(t, raw)
	msgs := dc.WaitMessages(t, "INBOX", 10*time.Second, func(m []dovecot.MessageInfo) bool { return len(m) == 1 })
	signed := decodeBody(t, msgs[0].Raw)
	r := f.g.Run(signed, "--verify")
	if r.Err != nil || !r.Has("GOODSIG") || !r.Has("VALIDSIG "+f.teamG.Fingerprint) {
		t.Fatalf("gpg --verify of the received announcement: %v %v\n%s", r.Err, r.Status, signed)
	}
	if bytes.Contains(signed, []byte(reportCanary)) || !bytes.Contains(signed, []byte("CVE-2026-10001")) {
		t.Errorf("announcement text:\n%s", signed)
	}
	if r := f.g.Run(bytes.Replace(signed, []byte("libsip"), []byte("libsap"), 1), "--verify"); r.Err == nil {
		t.Error("gpg accepted a changed announcement: the check cannot fail")
	}

	// The reporter is told, with the link and the credit.
	out, err := f.db.DueMessages(ctx, time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	told := false
	for _, m := range out {
		text := bot.RenderPlain(m.Text)
		if m.Dest.Address == "rita@example.net" && strings.Contains(text, "https://security.example.org/advisories/2026-1.html") && strings.Contains(text, "Rita R. (finder)") {
			told = true
		}
	}
	if !told {
		t.Error("the reporter's mail with the link and credit is not queued")
	}
}

// decodeBody returns the text of a single-part quoted-printable mail.
func decodeBody(t *testing.T, raw []byte) []byte {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
}

// TestScheduledPublication runs the sweep's job: nothing before the time,
// a refusal reported to the team (schedule cleared) when the draft is not
// ready, the publication once it is.
func TestScheduledPublication(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.draft(t)
	clock := f.svc.Clock().(*bot.ManualClock)
	f.must(t, "alice", "publish 1 at 2d")
	if err := f.pub.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, _ := f.db.AdvisoryRecord(ctx, 1); rec.IsPublished() {
		t.Fatal("published before its time")
	}
	clock.Advance(49 * time.Hour)
	if err := f.pub.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	rec, _ := f.db.AdvisoryRecord(ctx, 1)
	if rec.IsPublished() || !rec.PublishAt.IsZero() {
		t.Fatalf("unapproved scheduled publication: published %v, still scheduled %v", rec.IsPublished(), rec.PublishAt)
	}
	_, events, _ := f.svc.Timeline(ctx, bot.SystemActor(), 1)
	if last := events[len(events)-1]; last.Kind != bot.EventPublished || !strings.Contains(last.Details, "approvals") {
		t.Fatalf("the refusal is not in the timeline: %+v", last)
	}
	f.must(t, "dave", "approve 1")
	f.must(t, "carol", "approve 1")
	f.must(t, "alice", "publish 1 at 1h")
	clock.Advance(time.Hour)
	if err := f.pub.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, _ := f.db.AdvisoryRecord(ctx, 1); !rec.IsPublished() || len(rec.Announced) != 2 {
		t.Fatalf("scheduled publication: published %v, announced %v", rec.IsPublished(), rec.Announced)
	}
}

// TestNotifyDistros sends the draft encrypted to the list's key and
// checks gpg decrypts it with the list's key and the team's signature.
func TestNotifyDistros(t *testing.T) {
	f := newFixture(t)
	f.draft(t)
	if r := f.run(t, "alice", "notify distros 1"); !r.Failed || !strings.Contains(bot.RenderPlain(r.Text), "no embargo") {
		t.Fatalf("without an embargo: %s", bot.RenderPlain(r.Text))
	}
	f.must(t, "alice", "embargo 1 20d")
	if r := f.run(t, "alice", "notify distros 1"); !r.Failed || !strings.Contains(bot.RenderPlain(r.Text), "at most 14 days") {
		t.Fatalf("20 days ahead: %s", bot.RenderPlain(r.Text))
	}
	if len(f.sink.received()) != 0 {
		t.Fatal("a refused notification was mailed")
	}
	f.must(t, "alice", "embargo 1 7d")
	f.must(t, "alice", "notify distros 1")
	mails := f.sink.received()
	if len(mails) != 1 || mails[0].to != "distros@example.org" || bytes.Contains(mails[0].data, []byte("Heap overflow")) {
		t.Fatalf("distros mail: %d mails, %q", len(mails), mails)
	}
	i := bytes.Index(mails[0].data, []byte("-----BEGIN PGP MESSAGE-----"))
	j := bytes.Index(mails[0].data, []byte("-----END PGP MESSAGE-----"))
	if i < 0 || j < 0 {
		t.Fatalf("not encrypted:\n%s", mails[0].data)
	}
	r := f.g.Run(mails[0].data[i:j+len("-----END PGP MESSAGE-----")], "--decrypt")
	if r.Err != nil || !bytes.Contains(r.Output, []byte("Heap overflow in the SIP parser")) || !bytes.Contains(r.Output, []byte("EMBARGOED")) || !r.Has("GOODSIG") {
		t.Fatalf("gpg --decrypt: %v %v\n%s", r.Err, r.Status, r.Output)
	}
	rec, _ := f.db.AdvisoryRecord(context.Background(), 1)
	if rec.DistrosNotified.IsZero() {
		t.Error("not recorded")
	}
}
