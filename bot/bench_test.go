package bot_test

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// BenchTeam builds a team of sigs SIGs, each with a lead, two more
// members on a weekly rotation (zones vary) and the others as deputies,
// plus five officers; and n open incidents spread over the SIGs: 20%
// overdue by up to two days, 5% unacknowledged, 2% with an embargo lifting
// within three days, the rest fixing with a month to go.
func benchWorld(b *testing.B, sigs, n int, now time.Time) (*bot.Settings, []*bot.Incident) {
	b.Helper()
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"}
	var people []bot.Person
	for i := range 5 {
		people = append(people, bot.Person{Name: fmt.Sprintf("o%d", i), Role: bot.RoleOfficer})
	}
	st := &bot.Settings{Deadlines: bot.DefaultDeadlines(), Platforms: []string{bot.PlatformMattermost, bot.PlatformIRC}}
	monday := now.AddDate(0, 0, -int((now.Weekday()+6)%7)) // the rotations start this week: members[0] is on
	for s := range sigs {
		var names []string
		for m := range 3 {
			name := fmt.Sprintf("p%04d", s*3+m)
			names = append(names, name)
			loc := mustLoad(b, zones[(s+m)%len(zones)])
			people = append(people, bot.Person{Name: name, Role: bot.RoleMember, Mattermost: name, IRCAccount: name,
				Location: loc, QuietHours: bot.QuietHours{Start: 22 * 60, End: 7 * 60}})
		}
		st.SIGs = append(st.SIGs, &bot.SIG{Name: fmt.Sprintf("sig%03d", s), Lead: names[0], Deputies: names[1:], Contacts: names,
			Rotation: &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Minute: 0, Location: time.UTC,
				Members: names, Start: monday}})
	}
	st.DefaultSIG = st.SIGs[0].Name
	dir, err := bot.NewPeople(people)
	if err != nil {
		b.Fatal(err)
	}
	st.People = dir
	st.Officers = &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Members: []string{"o0", "o1"}, Start: monday}
	incidents := make([]*bot.Incident, n)
	for i := range n {
		s := i % sigs
		inc := &bot.Incident{ID: int64(i + 1), Title: "benchmark " + strconv.Itoa(i), SIG: st.SIGs[s].Name, Severity: bot.SeverityMedium,
			State: bot.StateFixing, Assignee: fmt.Sprintf("p%04d", s*3+i%3), Claimed: true, Manager: "o" + strconv.Itoa(i%5),
			Created: now.AddDate(0, 0, -10), Due: now.AddDate(0, 0, 30), DueKind: bot.DeadlineFix}
		switch {
		case i%20 == 0:
			inc.State, inc.Claimed, inc.DueKind = bot.StateNew, false, bot.DeadlineAcknowledge
			inc.Assignee = fmt.Sprintf("p%04d", s*3) // the on-duty member
			inc.Due = now.Add(time.Duration(i%96-48) * time.Hour)
		case i%5 == 0:
			inc.Due = now.Add(-time.Duration(i%2880) * time.Minute)
		}
		if i%50 == 1 {
			inc.Embargo = now.Add(time.Duration(i%72) * time.Hour)
		}
		incidents[i] = inc
	}
	return st, incidents
}

// BenchmarkPlanSweep times one sweep's decisions over 100,000 open
// incidents in 500 SIGs, in steady state (what is due was sent by earlier
// sweeps), and reports the resident memory of the process holding it.
func BenchmarkPlanSweep(b *testing.B) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st, incidents := benchWorld(b, 500, 100_000, now)
	rs := &bot.RosterState{Overrides: []*bot.Override{
		{Kind: bot.OverrideAway, Person: "p0003", From: now.Add(-time.Hour), Until: now.Add(72 * time.Hour)},
		{Kind: bot.OverrideCover, SIG: "sig007", Person: "p0100", From: now.Add(-time.Hour), Until: now.Add(72 * time.Hour)},
	}}
	// The first sweep decides everything that is due; its nags become the
	// history the measured sweeps consult.
	first := bot.PlanSweep(now, st, rs, incidents, bot.NagHistory{})
	history := bot.NagHistory{}
	for _, n := range first.Nags {
		history[n.Key] = struct{}{}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var plan bot.SweepPlan
	for b.Loop() {
		plan = bot.PlanSweep(now, st, rs, incidents, history)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(first.Nags)), "nags-first-sweep")
	b.ReportMetric(float64(len(plan.Nags)+len(plan.Reassign)), "actions-steady")
	reportMemory(b)
	runtime.KeepAlive(incidents)
	runtime.KeepAlive(history)
}

// reportMemory adds the process's resident set and the live Go heap to the
// benchmark output.
func reportMemory(b *testing.B) {
	runtime.GC()
	if rss := residentBytes(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "MiB-RSS")
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		b.ReportMetric(float64(s[0].Value.Uint64())/(1<<20), "MiB-heap-live")
	}
}

// residentBytes reads VmRSS from /proc/self/status; 0 where there is none.
func residentBytes() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
