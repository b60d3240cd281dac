package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a byte count written as "25MiB", "64KiB", "10MB" or "1024".
type Size int64

var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

func (s *Size) UnmarshalText(b []byte) error {
	v := strings.TrimSpace(string(b))
	factor := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(v, u.suffix) {
			v, factor = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/factor {
		return fmt.Errorf("bad size %q: write a number of bytes with a unit, e.g. 25MiB, 64KiB or 10MB", string(b))
	}
	*s = Size(n * factor)
	return nil
}

func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s Size) String() string {
	for _, u := range sizeUnits[:3] {
		if f := u.factor; int64(s) >= f && int64(s)%f == 0 && (u.suffix == "GiB" || int64(s) < f<<10) {
			return fmt.Sprintf("%d%s", int64(s)/f, u.suffix)
		}
	}
	return strconv.FormatInt(int64(s), 10)
}
