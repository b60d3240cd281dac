package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/storage"
)

// equivSettings is a small team whose duty and quiet hours change often:
// daily rotations, people in several zones with quiet hours, a short
// escalation ladder and deadlines, so a few simulated days cover every
// rung, period, embargo warning, snooze end and hand-off.
func equivSettings(t *testing.T, start time.Time) *bot.Settings {
	t.Helper()
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"}
	var people []bot.Person
	for i := range 3 {
		people = append(people, bot.Person{Name: fmt.Sprintf("o%d", i), Role: bot.RoleOfficer, Mattermost: fmt.Sprintf("o%d", i)})
	}
	st := &bot.Settings{Platforms: []string{bot.PlatformMattermost, bot.PlatformIRC}}
	for s := range 3 {
		var names []string
		for m := range 3 {
			name := fmt.Sprintf("p%d%d", s, m)
			names = append(names, name)
			loc, err := time.LoadLocation(zones[(s+m)%len(zones)])
			if err != nil {
				t.Fatal(err)
			}
			p := bot.Person{Name: name, Role: bot.RoleMember, Mattermost: name, IRCAccount: name, Location: loc}
			if m != 2 {
				p.QuietHours = bot.QuietHours{Start: 22 * 60, End: 7*60 + 30}
			}
			people = append(people, p)
		}
		st.SIGs = append(st.SIGs, &bot.SIG{Name: fmt.Sprintf("sig%d", s), Lead: names[0], Deputies: names[1:], Contacts: names,
			Rotation: &bot.Rotation{Every: bot.RotationDaily, Minute: 9 * 60, Members: names, Start: start}})
	}
	st.DefaultSIG = "sig0"
	dir, err := bot.NewPeople(people)
	if err != nil {
		t.Fatal(err)
	}
	st.People = dir
	st.Officers = &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Thursday, Members: []string{"o0", "o1"}, Start: start}
	st.Escalation = bot.EscalationPolicy{DeputyAfter: 2 * time.Hour, OfficersAfter: 5 * time.Hour, Repeat: 9 * time.Hour, MaxSnooze: 48 * time.Hour}
	st.Deadlines = bot.DefaultDeadlines()
	st.Deadlines.Acknowledge = 3 * time.Hour
	st.Deadlines.Triage = 10 * time.Hour
	st.Deadlines.Stale = 20 * time.Hour
	st.Deadlines.EmbargoWarnings = []time.Duration{30 * time.Hour, 4 * time.Hour}
	return st
}

// desk is one database with its service and roster.
type desk struct {
	db    *storage.DB
	svc   *bot.Service
	clock *bot.ManualClock
	duty  *bot.Duty
}

func newDesk(t *testing.T, start time.Time) *desk {
	db, _ := openDB(t)
	clock := bot.NewManualClock(start)
	svc := bot.NewService(db, clock, discard(), equivSettings(t, start))
	duty := bot.NewDuty(svc, db, discard())
	svc.SetRoster(duty)
	return &desk{db: db, svc: svc, clock: clock, duty: duty}
}

// TestSweepDueOnlyMatchesFullSweep runs the same randomised history on two
// databases: one swept as the daemon sweeps (reading only what is due and
// what roster changes concern), one whose every sweep reads every open
// incident (a settings reload before each sweep forces that). After each
// sweep both must hold the same incidents, events, nags and messages.
func TestSweepDueOnlyMatchesFullSweep(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ctx := context.Background()
			start := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
			due, full := newDesk(t, start), newDesk(t, start)
			rng := rand.New(rand.NewPCG(seed, 15))
			var totalPinged, totalReassigned, dueRead, fullRead int
			const steps = 120
			for step := range steps {
				op := randomOp(rng, due.svc.Settings(), due.clock.Now())
				errDue, errFull := op(ctx, due), op(ctx, full)
				if (errDue == nil) != (errFull == nil) {
					t.Fatalf("step %d: the same command gave %v and %v", step, errDue, errFull)
				}
				advance := time.Duration(1+rng.IntN(240)) * time.Minute
				due.clock.Advance(advance)
				full.clock.Advance(advance)
				st := *full.svc.Settings()
				full.svc.SetSettings(&st) // a reload: the next sweep reads every open incident
				repDue, err := due.duty.Sweep(ctx)
				if err != nil {
					t.Fatal(err)
				}
				repFull, err := full.duty.Sweep(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !repFull.All {
					t.Fatal("the reference sweep did not read every incident")
				}
				if repDue.Pinged != repFull.Pinged || repDue.Reassigned != repFull.Reassigned {
					t.Fatalf("step %d at %s: due-only sweep %+v, full sweep %+v", step, due.clock.Now(), repDue, repFull)
				}
				totalPinged += repDue.Pinged
				totalReassigned += repDue.Reassigned
				dueRead += repDue.Incidents
				fullRead += repFull.Incidents
				// Rows are only ever added or changed, never removed, so a
				// difference shows at every later comparison: comparing
				// every few steps (and at the end) keeps the test fast.
				if step%6 != 5 && step != steps-1 {
					continue
				}
				a, err := due.db.DumpForTest(ctx)
				if err != nil {
					t.Fatal(err)
				}
				b, err := full.db.DumpForTest(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(b, a); diff != "" {
					t.Fatalf("step %d at %s: databases differ (-full +due-only):\n%s", step, due.clock.Now(), diff)
				}
			}
			// A history in which nothing happened would prove nothing.
			if totalPinged < 50 || totalReassigned < 10 {
				t.Fatalf("too quiet a history: %d nags, %d reassignments", totalPinged, totalReassigned)
			}
			// Duty here changes hands daily and people go away often, so
			// roster changes make the due-only sweep read a good part of
			// the desk; the benchmark measures a realistic one.
			if dueRead >= fullRead {
				t.Fatalf("the due-only sweep read %d incidents, the full one %d", dueRead, fullRead)
			}
			t.Logf("%d nags, %d reassignments; incidents read: %d due-only, %d full", totalPinged, totalReassigned, dueRead, fullRead)
		})
	}
}

// randomOp picks a command, with its arguments, to run on both desks.
func randomOp(rng *rand.Rand, st *bot.Settings, now time.Time) func(context.Context, *desk) error {
	people := st.People.All()
	person := people[rng.IntN(len(people))].Name
	officer := fmt.Sprintf("o%d", rng.IntN(3))
	sig := st.SIGs[rng.IntN(len(st.SIGs))].Name
	id := int64(1 + rng.IntN(25))
	hours := func(lo, hi int) time.Duration { return time.Duration(lo*60+rng.IntN((hi-lo)*60)) * time.Minute }
	as := func(d *desk, name string) bot.Actor { return actor(d.svc, name) }
	severities := []bot.Severity{bot.SeverityLow, bot.SeverityHigh, bot.SeverityCritical}
	switch n := rng.IntN(100); {
	case n < 18:
		sev := severities[rng.IntN(len(severities))]
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "report", SIG: sig, Severity: sev})
			return err
		}
	case n < 26:
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.Claim(ctx, as(d, person), bot.Member, id)
			return err
		}
	case n < 32:
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.Ack(ctx, as(d, officer), bot.Member, id)
			return err
		}
	case n < 38:
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.Assign(ctx, as(d, officer), bot.Officer, id, person)
			return err
		}
	case n < 45:
		until := now.Add(hours(1, 30))
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.Snooze(ctx, as(d, officer), bot.Member, id, until)
			return err
		}
	case n < 52:
		at := now.Add(hours(0, 20) - 10*time.Hour)
		kinds := []bot.DeadlineKind{bot.DeadlineAcknowledge, bot.DeadlineTriage, bot.DeadlineFix, bot.DeadlineStale}
		kind := kinds[rng.IntN(len(kinds))]
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.SetDue(ctx, as(d, officer), bot.Officer, id, kind, at)
			return err
		}
	case n < 60:
		until := now.Add(hours(2, 60))
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.SetEmbargo(ctx, as(d, officer), bot.Officer, id, until)
			return err
		}
	case n < 70:
		states := []bot.State{bot.StateTriage, bot.StateFixing, bot.StateFixing, bot.StateDisclosed}
		target := states[rng.IntN(len(states))]
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.SetState(ctx, as(d, officer), bot.Officer, id, target, "")
			return err
		}
	case n < 74:
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.Close(ctx, as(d, officer), bot.Officer, id, bot.CloseReason{Kind: bot.ReasonFixed}, "")
			return err
		}
	case n < 80:
		return func(ctx context.Context, d *desk) error {
			_, err := d.svc.AddNote(ctx, as(d, person), bot.Member, id, "progress")
			return err
		}
	case n < 90:
		from := now.Add(hours(0, 10) - 2*time.Hour)
		until := from.Add(hours(1, 30))
		return func(ctx context.Context, d *desk) error {
			_, err := d.duty.Away(ctx, as(d, officer), bot.Officer, person, from, until)
			return err
		}
	case n < 96:
		member := st.SIG(sig).Contacts[rng.IntN(3)]
		from := now.Add(hours(0, 6))
		until := from.Add(hours(1, 20))
		return func(ctx context.Context, d *desk) error {
			_, err := d.duty.Cover(ctx, as(d, officer), bot.Officer, sig, member, from, until)
			return err
		}
	default:
		return func(ctx context.Context, d *desk) error { return nil } // just time passing
	}
}
