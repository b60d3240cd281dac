package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var durationUnits = map[byte]time.Duration{
	'w': 7 * 24 * time.Hour,
	'd': 24 * time.Hour,
	'h': time.Hour,
	'm': time.Minute,
	's': time.Second,
}

// ParseDuration reads durations the way people write them in chat and in the
// config: "3d", "12h", "1w", "2d12h", "90m". Unlike time.ParseDuration it
// knows days and weeks, and it refuses zero, negative and fractional values.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(strings.ToLower(s))
	if in == "" {
		return 0, fmt.Errorf("empty duration; write e.g. 3d, 12h or 1w2d")
	}
	var total time.Duration
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("bad duration %q: write a number followed by a unit (w, d, h, m, s), e.g. 3d or 2d12h", s)
		}
		unit, ok := durationUnits[rest[i]]
		if !ok {
			return 0, fmt.Errorf("bad duration %q: unknown unit %q (use w, d, h, m or s)", s, rest[i])
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64(100*365*24*time.Hour/unit) {
			return 0, fmt.Errorf("bad duration %q: too long", s)
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	if total <= 0 {
		return 0, fmt.Errorf("bad duration %q: must be longer than zero", s)
	}
	return total, nil
}

// FormatDuration writes d in the largest whole units, the inverse of
// ParseDuration for whole minutes: 49h → "2d1h".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	if d < time.Minute {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}
