package bot_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWeeklyRotationAcrossDST(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	r := &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Minute: 9 * 60, Location: berlin,
		Members: []string{"bob", "erin"}, Start: time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		at   string // UTC
		want string
	}{
		{"2026-03-16 07:59", "erin"}, // before the first hand-off: extrapolated backwards
		{"2026-03-16 08:00", "bob"},  // 09:00 CET
		{"2026-03-23 07:59", "bob"},
		{"2026-03-23 08:00", "erin"},
		// DST begins on Sunday 2026-03-29: Monday's hand-off is 09:00 CEST = 07:00 UTC.
		{"2026-03-30 06:59", "erin"},
		{"2026-03-30 07:00", "bob"},
		// DST ends on Sunday 2026-10-25: 09:00 CET = 08:00 UTC again.
		{"2026-10-26 07:59", "erin"},
		{"2026-10-26 08:00", "bob"},
	} {
		if got := r.MemberAt(utc(tc.at)); got != tc.want {
			t.Errorf("at %s UTC: %s on duty, want %s", tc.at, got, tc.want)
		}
	}
	s := r.ShiftAt(utc("2026-03-25 12:00"))
	if got := s.End.Sub(s.Start); got != 167*time.Hour {
		t.Errorf("the shift over the spring DST change lasts %v, want 167h", got)
	}
	s = r.ShiftAt(utc("2026-10-21 12:00"))
	if got := s.End.Sub(s.Start); got != 169*time.Hour {
		t.Errorf("the shift over the autumn DST change lasts %v, want 169h", got)
	}
}

func TestRotationStartsOnTheFirstHandoffDay(t *testing.T) {
	r := &bot.Rotation{Every: bot.RotationWeekly, Weekday: time.Monday, Minute: 9 * 60,
		Members: []string{"a", "b", "c"}, Start: time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC)} // a Wednesday
	if got := r.MemberAt(utc("2026-03-23 09:00")); got != "a" {
		t.Errorf("first member takes over on the first Monday after the start: got %s", got)
	}
	if got := r.MemberAt(utc("2026-03-22 12:00")); got != "c" {
		t.Errorf("before the start the rotation runs backwards: got %s", got)
	}
	d := &bot.Rotation{Every: bot.RotationDaily, Minute: 17*60 + 30, Members: []string{"a", "b"},
		Start: time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC)}
	for at, want := range map[string]string{"2026-03-18 17:29": "b", "2026-03-18 17:30": "a", "2026-03-19 17:30": "b", "2026-03-21 08:00": "a"} {
		if got := d.MemberAt(utc(at)); got != want {
			t.Errorf("daily at %s: %s, want %s", at, got, want)
		}
	}
}

// TestRotationProperties checks, over two years of random instants in
// zones with and without DST, that shifts tile time without gaps, each
// starts at the hand-off's local wall-clock time, and members take turns.
func TestRotationProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"} {
		loc := mustLoad(t, zone)
		for _, r := range []*bot.Rotation{
			{Every: bot.RotationWeekly, Weekday: time.Monday, Minute: 9 * 60, Location: loc, Members: []string{"a", "b", "c"}, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)},
			{Every: bot.RotationDaily, Minute: 2*60 + 30, Location: loc, Members: []string{"a", "b"}, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)},
		} {
			base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
			for range 2000 {
				at := base.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour))))
				s := r.ShiftAt(at)
				if at.Before(s.Start) || !at.Before(s.End) {
					t.Fatalf("%s %s: shift %v–%v does not hold %v", zone, r, s.Start, s.End, at)
				}
				next := r.ShiftAt(s.End)
				if !next.Start.Equal(s.End) || next.Index != s.Index+1 {
					t.Fatalf("%s %s: shift after %v starts %v (index %d after %d)", zone, r, s.End, next.Start, next.Index, s.Index)
				}
				if next.Person == s.Person {
					t.Fatalf("%s %s: %s twice in a row at %v", zone, r, s.Person, s.End)
				}
				lt := s.Start.In(loc)
				if r.Every == bot.RotationWeekly && (lt.Weekday() != time.Monday || lt.Hour() != 9 || lt.Minute() != 0) {
					t.Fatalf("%s: weekly hand-off at %v local", zone, lt)
				}
			}
		}
	}
}

func TestParseHandoff(t *testing.T) {
	for _, tc := range []struct {
		every, in string
		wd        time.Weekday
		min       int
		err       bool
	}{
		{every: "weekly", in: "Mon 09:00", wd: time.Monday, min: 540},
		{every: "weekly", in: "friday 17:30", wd: time.Friday, min: 1050},
		{every: "daily", in: "08:15", min: 495},
		{every: "weekly", in: "09:00", err: true},
		{every: "daily", in: "Mon 09:00", err: true},
		{every: "weekly", in: "Mo 09:00", err: true},
		{every: "weekly", in: "Mon 9am", err: true},
		{every: "monthly", in: "09:00", err: true},
	} {
		wd, m, err := bot.ParseHandoff(tc.every, tc.in)
		if (err != nil) != tc.err || (!tc.err && (wd != tc.wd || m != tc.min)) {
			t.Errorf("ParseHandoff(%q, %q) = %v, %d, %v", tc.every, tc.in, wd, m, err)
		}
	}
}
