package bot

import (
	"fmt"
	"strings"
	"time"
)

// ParseWhen reads a moment as users type it: a date ("2026-12-01", the start
// of that day in loc), a date and time ("2026-12-01T15:00", in loc, or with a
// zone: "2026-12-01T15:00Z", "2026-12-01T15:00+01:00"), "now", or a duration
// from now ("3d", "12h"). Replies show the resolved time, so a bare date's
// meaning is never a guess for the user.
func ParseWhen(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	in := strings.TrimSpace(s)
	if strings.EqualFold(in, "now") {
		return now, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, in); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, in, loc); err == nil {
			return t, nil
		}
	}
	if len(in) > 0 && in[0] >= '0' && in[0] <= '9' && !strings.Contains(in, "-") {
		if d, err := ParseDuration(in); err == nil {
			return now.Add(d), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q: write 2026-12-01, 2026-12-01T15:00, or a time from now such as 3d or 12h", s)
}

// FormatTime is how times appear in replies: minutes precision, with the zone.
func FormatTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}
