package commands_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/internal/testenv/intaketest"
	"github.com/sectriage/sectriage/storage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata with the replies produced now")

var start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

type world struct {
	svc   *bot.Service
	reg   *commands.Registry
	clock *bot.ManualClock
	db    *storage.DB
	// The intake and quarantine desk, with a decoder that accepts what is
	// encrypted to a key in gate.keys.
	intake *bot.Intake
	desk   *bot.QuarantineDesk
	gate   *intaketest.Gate
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newWorld is the team every golden file starts with: officers alice and
// carol (weekly rotation from 2026-11-23, alice first), bob (core lead) and
// erin (core deputy) on core's weekly Berlin rotation, dave (web lead, no
// rotation), and three reports.
func newWorld(t testing.TB) *world {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "st.db"), discard())
	if err != nil {
		t.Fatal(err)
	}
	return worldOn(t, db)
}

// newMemoryWorld is newWorld on an in-memory database: for the fuzzer,
// which makes a world per input.
func newMemoryWorld(t testing.TB) *world {
	t.Helper()
	db, err := storage.OpenMemory(context.Background(), discard())
	if err != nil {
		t.Fatal(err)
	}
	return worldOn(t, db)
}

func worldOn(t testing.TB, db *storage.DB) *world {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() { db.Close() })
	berlin, _ := time.LoadLocation("Europe/Berlin")
	people, err := bot.NewPeople([]bot.Person{
		{Name: "alice", Role: bot.RoleOfficer},
		{Name: "carol", Role: bot.RoleOfficer},
		{Name: "bob", Role: bot.RoleMember, Location: berlin},
		{Name: "erin", Role: bot.RoleMember},
		{Name: "dave", Role: bot.RoleMember},
	})
	if err != nil {
		t.Fatal(err)
	}
	settings := &bot.Settings{
		People: people,
		SIGs: []*bot.SIG{
			// bob's week in core at start; erin's from Monday 2026-11-30 09:00 Berlin.
			{Name: "core", Lead: "bob", Deputies: []string{"erin"}, Contacts: []string{"bob", "erin"},
				Rotation: &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Minute: 9 * 60, Location: berlin,
					Members: []string{"bob", "erin"}, Start: time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)}},
			{Name: "web", Lead: "dave", Contacts: []string{"dave"}},
		},
		DefaultSIG: "core",
		Deadlines:  bot.DefaultDeadlines(),
		Platforms:  []string{bot.PlatformConsole, bot.PlatformIRC},
		Officers: &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Minute: 9 * 60,
			Members: []string{"alice", "carol"}, Start: start},
		// Mail to reporters is configured (reply works).
		ReporterMail: true,
		Publication:  bot.PublicationPolicy{BaseURL: "https://example.org", DistrosList: "distros@example.org"},
	}
	clock := bot.NewManualClock(start)
	svc := bot.NewService(db, clock, discard(), settings)
	duty := bot.NewDuty(svc, db, discard())
	svc.SetRoster(duty)
	intake, desk, gate := intaketest.NewDesk(svc, db, 7*24*time.Hour)
	reg, err := commands.New(svc, discard(), commands.Options{Duty: duty, Publisher: &servicePublisher{svc}, Quarantine: desk, Status: db})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []bot.NewIncident{
		{Title: "Heap overflow in SIP parser", Reporter: "reporter@example.net", ReporterKey: "0123456789ABCDEF", Encrypted: true},
		{Title: "XSS in web UI <script> @channel", SIG: "web", Reporter: "xss@example.org", Encrypted: true},
		{Title: "Crash on malformed packet\x1b[31m red", Reporter: "plain@example.com"},
	} {
		if _, err := svc.OpenIncident(ctx, bot.SystemActor(), n); err != nil {
			t.Fatal(err)
		}
		clock.Advance(10 * time.Minute)
	}
	return &world{svc: svc, reg: reg, clock: clock, db: db, intake: intake, desk: desk, gate: gate}
}

// TestGolden plays each testdata/*.txt file. Lines:
//
//	# comment
//	as NAME          act as this person (an undeclared name is an outsider)
//	advance DUR      move the clock
//	private yes|no   whether replies go to a private place
//	said ID TEXT     the actor says TEXT in the incident's IRC channel
//	                 (edited ID TEXT, deleted ID: an edit, a deletion)
//	> COMMAND        run it; the lines after it are the expected reply
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	unchanged = 0
	t.Cleanup(func() {
		if !t.Failed() && unchanged == 0 {
			t.Error("no golden command answered Unchanged: that claim went unchecked")
		}
	})
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := play(t, string(want))
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s differs (-want +got); run go test ./commands -update to accept:\n%s", file, diff)
			}
		})
	}
}

// play runs the script and returns it with every reply replaced by what
// the commands answer now.
func play(t *testing.T, script string) string {
	w := newWorld(t)
	ctx := context.Background()
	var out strings.Builder
	act := bot.Actor{Person: w.svc.Settings().People.ByName("alice"), Platform: bot.PlatformConsole}
	private := true
	sc := bufio.NewScanner(strings.NewReader(script))
	inReply := false
	for sc.Scan() {
		line := sc.Text()
		if inReply && !strings.HasPrefix(line, "> ") && !isDirective(line) {
			continue // old expected output: replaced below
		}
		inReply = false
		out.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, "as "):
			name := strings.TrimSpace(line[3:])
			act = bot.Actor{Person: w.svc.Settings().People.ByName(name), Platform: bot.PlatformConsole}
		case strings.HasPrefix(line, "advance "):
			d, err := bot.ParseDuration(strings.TrimSpace(line[8:]))
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			w.clock.Advance(d)
		case strings.HasPrefix(line, "private "):
			private = strings.TrimSpace(line[8:]) == "yes"
		case strings.HasPrefix(line, "said "), strings.HasPrefix(line, "edited "), strings.HasPrefix(line, "deleted "):
			verb, rest, _ := strings.Cut(line, " ")
			idArg, text, _ := strings.Cut(rest, " ")
			id, err := bot.ParseIncidentID(idArg)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			said := bot.Said{Text: text, Edited: verb == "edited", Deleted: verb == "deleted"}
			if err := w.svc.Discuss(ctx, bot.Actor{Person: act.Person, Platform: bot.PlatformIRC}, id, said); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		case strings.HasPrefix(line, "> "):
			before := incidents(t, w)
			reply := w.reg.Run(ctx, act, line[2:], private)
			if reply.Unchanged {
				// Adapters skip redrawing the incident on it: it must be true.
				unchanged++
				if diff := cmp.Diff(before, incidents(t, w)); diff != "" || reply.Failed {
					t.Errorf("%s answered Unchanged (failed: %v) but changed the incidents (-before +after):\n%s", line, reply.Failed, diff)
				}
			}
			out.WriteString(render(reply))
			inReply = true
		}
	}
	return out.String()
}

// unchanged counts the replies that said Unchanged, and were checked.
var unchanged int

// incidents returns every incident as stored now.
func incidents(t *testing.T, w *world) []*bot.Incident {
	t.Helper()
	list, err := w.db.ListIncidents(context.Background(), bot.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func isDirective(line string) bool {
	for _, p := range []string{"as ", "advance ", "private ", "said ", "edited ", "deleted ", "# "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func render(r commands.Reply) string {
	text := strings.TrimRight(bot.RenderPlain(r.Text), "\n")
	if r.Failed {
		text = fmt.Sprintf("error (%s): %s", r.Kind, text)
	}
	if r.Confidential {
		text += "\n[confidential]"
	}
	return text + "\n"
}
