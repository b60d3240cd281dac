package storage_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// benchSettings is 500 SIGs of three people each on weekly rotations that
// began this week (so members[0] is on duty), and five officers.
func benchSettings(b *testing.B, now time.Time) *bot.Settings {
	var people []bot.Person
	for i := range 5 {
		people = append(people, bot.Person{Name: fmt.Sprintf("o%d", i), Role: bot.RoleOfficer})
	}
	monday := now.AddDate(0, 0, -int((now.Weekday()+6)%7))
	st := &bot.Settings{Deadlines: bot.DefaultDeadlines(), Platforms: []string{bot.PlatformMattermost, bot.PlatformIRC}}
	for s := range 500 {
		var names []string
		for m := range 3 {
			name := fmt.Sprintf("p%04d", s*3+m)
			names = append(names, name)
			people = append(people, bot.Person{Name: name, Role: bot.RoleMember, Mattermost: name, IRCAccount: name})
		}
		st.SIGs = append(st.SIGs, &bot.SIG{Name: fmt.Sprintf("sig%03d", s), Lead: names[0], Deputies: names[1:], Contacts: names,
			Rotation: &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Members: names, Start: monday}})
	}
	st.DefaultSIG = st.SIGs[0].Name
	dir, err := bot.NewPeople(people)
	if err != nil {
		b.Fatal(err)
	}
	st.People = dir
	st.Officers = &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Members: []string{"o0", "o1"}, Start: monday}
	return st
}

// benchIncidents inserts COUNT open incidents in one statement: 20%
// overdue by up to two days, 5% unacknowledged (half of them overdue), 2%
// with an embargo lifting within three days, the rest with a month to go.
const benchIncidents = `WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < COUNT - 1)
INSERT INTO incidents(title, sig, severity, state, assignee, claimed, manager, created_at, updated_at, state_since,
	last_activity, due_at, due_kind, embargo_at, next_action_at)
SELECT 'benchmark ' || n, printf('sig%03d', n % 500), 'medium',
	CASE WHEN n % 20 = 0 THEN 'new' ELSE 'fixing' END,
	CASE WHEN n % 20 = 0 THEN printf('p%04d', (n % 500) * 3) ELSE printf('p%04d', (n % 500) * 3 + n % 3) END,
	CASE WHEN n % 20 = 0 THEN 0 ELSE 1 END,
	'o' || (n % 5), NOW - 864000000, NOW - 864000000, NOW - 864000000, NOW - 864000000,
	CASE WHEN n % 20 = 0 THEN NOW + ((n % 96) - 48) * 3600000
	     WHEN n % 5 = 0 THEN NOW - (n % 2880) * 60000
	     ELSE NOW + 2592000000 END,
	CASE WHEN n % 20 = 0 THEN 'acknowledge' ELSE 'fix' END,
	CASE WHEN n % 50 = 1 THEN NOW + (n % 72) * 3600000 END,
	0 -- as migration 0012 leaves them: due for the first sweep
FROM seq`

// BenchmarkSweep runs the whole sweep (read the roster, select the due
// incidents, read their nag history, plan, record, mark) against SQLite
// holding 10,000 and 100,000 open incidents in 500 SIGs (and 1,000,000
// with SECTRIAGE_BENCH_1M=1: it takes a minute to set up), in steady
// state: the first sweep, outside the timer, read every open incident,
// sent what was due and gave each its next action time. It reports the
// first sweep's time too, and the process's resident memory (now, and its
// peak over the whole run, setup included) and live heap.
func BenchmarkSweep(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("SECTRIAGE_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("open=%d", n), func(b *testing.B) { benchSweep(b, n) })
	}
}

func benchSweep(b *testing.B, count int) {
	ctx := context.Background()
	db, _ := openDB(b)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	seed := strings.ReplaceAll(benchIncidents, "NOW", strconv.FormatInt(now.UnixMilli(), 10))
	if err := db.ExecForTest(ctx, strings.ReplaceAll(seed, "COUNT", strconv.Itoa(count))); err != nil {
		b.Fatal(err)
	}
	clock := bot.NewManualClock(now)
	svc := bot.NewService(db, clock, discard(), benchSettings(b, now))
	duty := bot.NewDuty(svc, db, discard())
	svc.SetRoster(duty)
	start := time.Now()
	first, err := duty.Sweep(ctx)
	if err != nil {
		b.Fatal(err)
	}
	firstTook := time.Since(start)
	if first.Incidents != count {
		b.Fatalf("the first sweep read %d incidents, want all %d", first.Incidents, count)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var rep bot.SweepReport
	read := 0
	for b.Loop() {
		clock.Advance(time.Second) // as if a little later: what falls due now is handled
		if rep, err = duty.Sweep(ctx); err != nil {
			b.Fatal(err)
		}
		read += rep.Incidents
	}
	b.StopTimer()
	b.ReportMetric(firstTook.Seconds(), "s-first-sweep")
	b.ReportMetric(float64(first.Pinged), "nags-first-sweep")
	b.ReportMetric(float64(read)/float64(b.N), "incidents-read/op")
	runtime.GC()
	debug.FreeOSMemory()
	if rss, peak := residentBytes(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "MiB-RSS")
		b.ReportMetric(float64(peak)/(1<<20), "MiB-RSS-peak")
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	b.ReportMetric(float64(s[0].Value.Uint64())/(1<<20), "MiB-heap-live")
	runtime.KeepAlive(duty)
}

// residentBytes reads VmRSS and VmHWM (the peak) from /proc/self/status;
// 0 where there is none.
func residentBytes() (rss, peak int64) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		for _, f := range []struct {
			prefix string
			to     *int64
		}{{"VmRSS:", &rss}, {"VmHWM:", &peak}} {
			if rest, ok := strings.CutPrefix(line, f.prefix); ok {
				if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
					*f.to = kb << 10
				}
			}
		}
	}
	return rss, peak
}
