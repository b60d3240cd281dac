package publish

import (
	"fmt"
	"math"
	"strings"

	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"
)

// cvssScore is a vector scored again here: the records carry the score
// the vector gives, whatever the draft says.
type cvssScore struct {
	Version  string // "3.1" or "4.0"
	Vector   string
	Score    float64
	Severity string // NONE, LOW, MEDIUM, HIGH, CRITICAL (CVSS's own bands)
}

func scoreVector(vector string) (cvssScore, error) {
	var c cvssScore
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		v, err := cvss31.ParseVector(vector)
		if err != nil {
			return c, fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		c = cvssScore{Version: "3.1", Vector: v.Vector(), Score: v.BaseScore()}
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		v, err := cvss40.ParseVector(vector)
		if err != nil {
			return c, fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		c = cvssScore{Version: "4.0", Vector: v.Vector(), Score: v.Score()}
	default:
		return c, fmt.Errorf("CVSS vector %q: only CVSS 3.1 and 4.0 are supported", vector)
	}
	c.Score = math.Round(c.Score*10) / 10
	switch {
	case c.Score == 0:
		c.Severity = "NONE"
	case c.Score < 4:
		c.Severity = "LOW"
	case c.Score < 7:
		c.Severity = "MEDIUM"
	case c.Score < 9:
		c.Severity = "HIGH"
	default:
		c.Severity = "CRITICAL"
	}
	return c, nil
}
