package bot

import (
	"fmt"
	"strings"
	"time"
)

// Rotation periods.
const (
	RotationWeekly = "weekly"
	RotationDaily  = "daily"
)

// Rotation hands duty from one member to the next at a fixed local time:
// every day, or every week on one weekday. Hand-offs are computed on the
// calendar of Location, so "Mon 09:00 Europe/Berlin" is 09:00 in Berlin on
// both sides of a DST change (the week in between is 167 or 169 hours).
type Rotation struct {
	Every   string       // RotationWeekly or RotationDaily
	Weekday time.Weekday // hand-off day, weekly rotations only
	Minute  int          // hand-off time: minutes after local midnight
	// Location is the zone of the hand-off time; nil means UTC.
	Location *time.Location
	Members  []string // person names, in duty order
	// Start is the date (year, month, day; the clock part is ignored) of
	// the first shift: Members[0] takes over at the first hand-off on or
	// after it. Earlier times extrapolate the rotation backwards.
	Start time.Time
}

// Shift is one member's turn: from the hand-off at Start to the one at End.
type Shift struct {
	Person     string
	Start, End time.Time
	// Index counts shifts from the first one (negative before it).
	Index int64
}

func (r *Rotation) loc() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

func (r *Rotation) period() int64 {
	if r.Every == RotationDaily {
		return 1
	}
	return 7
}

// civilDay numbers calendar days: 0 is 1970-01-01.
func civilDay(y int, m time.Month, d int) int64 {
	return floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 86400)
}

// handoff is the hand-off instant on civil day n in the rotation's zone.
// time.Date resolves a time inside a DST gap or overlap the same way every
// time, so the result is deterministic.
func (r *Rotation) handoff(n int64) time.Time {
	return time.Date(1970, 1, 1+int(n), r.Minute/60, r.Minute%60, 0, 0, r.loc())
}

// firstDay is the civil day of the first hand-off.
func (r *Rotation) firstDay() int64 {
	y, m, d := r.Start.Date()
	first := civilDay(y, m, d)
	if r.Every != RotationDaily {
		wd := int64(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday())
		first += (int64(r.Weekday) - wd + 7) % 7
	}
	return first
}

// ShiftAt returns the shift that covers t.
func (r *Rotation) ShiftAt(t time.Time) Shift {
	lt := t.In(r.loc())
	day := civilDay(lt.Date())
	first, p := r.firstDay(), r.period()
	k := floorDiv(day-first, p)
	if r.handoff(first + k*p).After(t) {
		k--
	}
	s := Shift{Start: r.handoff(first + k*p), End: r.handoff(first + (k+1)*p), Index: k}
	if n := int64(len(r.Members)); n > 0 {
		s.Person = r.Members[floorMod(k, n)]
	}
	return s
}

// MemberAt returns who the rotation names at t.
func (r *Rotation) MemberAt(t time.Time) string { return r.ShiftAt(t).Person }

// NextHandoff returns the first hand-off after t.
func (r *Rotation) NextHandoff(t time.Time) time.Time { return r.ShiftAt(t).End }

// String describes the rotation for replies: "weekly, Mon 09:00 Europe/Berlin".
func (r *Rotation) String() string {
	at := fmt.Sprintf("%02d:%02d %s", r.Minute/60, r.Minute%60, r.loc())
	if r.Every == RotationDaily {
		return "daily, " + at
	}
	return "weekly, " + r.Weekday.String()[:3] + " " + at
}

// ParseHandoff reads a hand-off time: "Mon 09:00" for a weekly rotation,
// "09:00" for a daily one.
func ParseHandoff(every, s string) (time.Weekday, int, error) {
	fields := strings.Fields(s)
	switch every {
	case RotationWeekly:
		if len(fields) != 2 {
			return 0, 0, fmt.Errorf("bad hand-off %q: a weekly rotation needs a weekday and a time, e.g. \"Mon 09:00\"", s)
		}
		wd, ok := parseWeekday(fields[0])
		if !ok {
			return 0, 0, fmt.Errorf("bad hand-off %q: %q is not a weekday (Mon, Tue, ... Sun)", s, fields[0])
		}
		m, err := parseClock(fields[1])
		if err != nil {
			return 0, 0, fmt.Errorf("bad hand-off %q: write the time as HH:MM, e.g. \"Mon 09:00\"", s)
		}
		return wd, m, nil
	case RotationDaily:
		if len(fields) != 1 {
			return 0, 0, fmt.Errorf("bad hand-off %q: a daily rotation needs only a time, e.g. \"09:00\"", s)
		}
		m, err := parseClock(fields[0])
		if err != nil {
			return 0, 0, fmt.Errorf("bad hand-off %q: write the time as HH:MM, e.g. \"09:00\"", s)
		}
		return 0, m, nil
	}
	return 0, 0, fmt.Errorf("unknown rotation %q: use weekly or daily", every)
}

func parseWeekday(s string) (time.Weekday, bool) {
	in := strings.ToLower(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if in == name || in == name[:3] {
			return d, true
		}
	}
	return 0, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
