package commands

import (
	"context"
	"fmt"
	"math"
	"strings"

	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"
	"github.com/sectriage/sectriage/bot"
)

// ParseSeverity reads a level name or a CVSS 3.1/4.0 base vector, which it
// validates and scores; the level then follows from the score.
func ParseSeverity(s string) (bot.SeverityChange, error) {
	if level, ok := bot.ParseSeverity(s); ok {
		return bot.SeverityChange{Level: level}, nil
	}
	upper := strings.ToUpper(s)
	var (
		score  float64
		vector string
	)
	switch {
	case strings.HasPrefix(upper, "CVSS:3.1/"):
		v, err := cvss31.ParseVector(s)
		if err != nil {
			return bot.SeverityChange{}, invalid("\"%s\" is not a valid CVSS 3.1 vector (%s); write e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H.", bot.EscapeControl(s, false), bot.EscapeControl(err.Error(), false))
		}
		score, vector = v.BaseScore(), v.Vector()
	case strings.HasPrefix(upper, "CVSS:4.0/"):
		v, err := cvss40.ParseVector(s)
		if err != nil {
			return bot.SeverityChange{}, invalid("\"%s\" is not a valid CVSS 4.0 vector (%s); write e.g. CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N.", bot.EscapeControl(s, false), bot.EscapeControl(err.Error(), false))
		}
		score, vector = v.Score(), v.Vector()
	case strings.HasPrefix(upper, "CVSS:"):
		return bot.SeverityChange{}, invalid("Only CVSS 3.1 and 4.0 vectors are accepted (CVSS:3.1/... or CVSS:4.0/...).")
	default:
		return bot.SeverityChange{}, invalid("\"%s\" is neither a severity (unknown, low, medium, high, critical) nor a CVSS vector.", bot.EscapeControl(s, false))
	}
	score = math.Round(score*10) / 10
	return bot.SeverityChange{Level: bot.SeverityForScore(score), Vector: vector, Score: score}, nil
}

func (h *handlers) severity(ctx context.Context, req *Request) (Reply, error) {
	id, err := incidentArg(req, 0)
	if err != nil {
		return Reply{}, err
	}
	c, err := ParseSeverity(req.Args[1])
	if err != nil {
		return Reply{}, err
	}
	out, err := h.svc.SetSeverity(ctx, req.Actor, req.Rule, id, c)
	if err != nil {
		return Reply{}, err
	}
	if !out.Changed {
		return same("%s already has severity %s.", out.Incident.Name(), c.Level), nil
	}
	what := fmt.Sprintf("%%ID: severity %s → %s", out.Before.Severity, c.Level)
	if c.Vector != "" {
		what += fmt.Sprintf(" (CVSS base score %.1f)", c.Score)
	}
	return h.changed(req, out, what+".", ""), nil
}
