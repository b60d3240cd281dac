package email_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// pipeline is the real intake: SQLite in a temp dir, the service, the
// decoder for a team key.
type pipeline struct {
	db     *storage.DB
	dbPath string
	svc    *bot.Service
	clock  *bot.ManualClock
	in     *bot.Intake
	dec    *email.Decoder
	team   *teamkey.Key
}

type pipelineOptions struct {
	known          openpgp.EntityList
	limits         email.Limits
	requireEnc     bool
	reporterMail   bool
	statusURL      string // with it, status links (the report page's tests)
	notifyReporter bool
	// plain leaves the database unsealed (a benchmark's baseline); the
	// daemon always seals it, and so do the tests by default.
	plain bool
}

func newPipeline(t testing.TB, team *teamkey.Key, o pipelineOptions) *pipeline {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sectriage.db")
	db, err := storage.Open(ctx, path, discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if team != nil && !o.plain {
		if err := db.Unlock(ctx, team); err != nil {
			t.Fatal(err)
		}
	}
	people, err := bot.NewPeople([]bot.Person{
		{Name: "alice", Role: bot.RoleOfficer},
		{Name: "bob", Role: bot.RoleMember},
	})
	if err != nil {
		t.Fatal(err)
	}
	settings := &bot.Settings{
		People: people, DefaultSIG: "core", Deadlines: bot.DefaultDeadlines(),
		SIGs:         []*bot.SIG{{Name: "core", Lead: "bob"}, {Name: "web", Lead: "alice"}},
		Platforms:    []string{bot.PlatformConsole},
		ReporterMail: o.reporterMail, NotifyReporter: o.notifyReporter,
	}
	clock := bot.NewManualClock(t0)
	svc := bot.NewService(db, clock, discard(), settings)
	dec, err := email.NewDecoder(team, o.known, o.limits, discard())
	if err != nil {
		t.Fatal(err)
	}
	in := bot.NewIntake(svc, db, dec, dec, nil, discard(), bot.IntakeOptions{
		MaxMessageBytes: dec.Limits().MaxMessageBytes, RequireEncryption: o.requireEnc, Acknowledge: true,
		OwnAddresses: []string{"security@example.org"}, Status: db, StatusURL: o.statusURL,
	})
	return &pipeline{db: db, dbPath: path, svc: svc, clock: clock, in: in, dec: dec, team: team}
}

func (p *pipeline) receive(t testing.TB, source string, raw []byte) bot.IntakeResult {
	t.Helper()
	res, err := p.in.Receive(context.Background(), bot.Submission{Source: source, Raw: raw})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if (res.IncidentID == 0) == (res.QuarantineID == 0) {
		t.Fatalf("Receive: want exactly one of incident and quarantine: %+v", res)
	}
	return res
}

// body is the rendered report of an incident, as `show` would print it.
func (p *pipeline) body(t testing.TB, incident int64) string {
	t.Helper()
	text, err := p.in.ReportBody(context.Background(), incident)
	if err != nil {
		t.Fatalf("ReportBody(%d): %v", incident, err)
	}
	return bot.RenderPlain(text)
}

func (p *pipeline) incident(t testing.TB, id int64) *bot.Incident {
	t.Helper()
	inc, err := p.db.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func (p *pipeline) quarantine(t testing.TB) []bot.Quarantined {
	t.Helper()
	q, err := p.db.Quarantine(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// lf makes line ends comparable: decrypted text keeps the sender's CRLF.
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// newPipelineOnDB is another intake on p's database and service, with
// other options.
func newPipelineOnDB(t testing.TB, p *pipeline, o pipelineOptions) *pipeline {
	t.Helper()
	q := *p
	q.in = bot.NewIntake(p.svc, p.db, p.dec, p.dec, nil, discard(), bot.IntakeOptions{
		MaxMessageBytes: p.dec.Limits().MaxMessageBytes, RequireEncryption: o.requireEnc,
	})
	return &q
}

func decodeBase64Lines(b []byte) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
}

func base64Lines(data []byte) []byte {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return []byte(b.String())
}
