package commands

import (
	"fmt"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// when formats a moment for the actor: their zone, and how far off it is.
func when(t time.Time, now time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "none"
	}
	d := t.Sub(now)
	switch {
	case d >= time.Minute:
		return fmt.Sprintf("%s (in %s)", bot.FormatTime(t, loc), bot.FormatDuration(d.Truncate(time.Minute)))
	case d <= -time.Minute:
		return fmt.Sprintf("%s (%s ago)", bot.FormatTime(t, loc), bot.FormatDuration((-d).Truncate(time.Minute)))
	default:
		return bot.FormatTime(t, loc) + " (now)"
	}
}

// dueText describes the incident's running deadline.
func dueText(inc *bot.Incident, now time.Time, loc *time.Location) string {
	if inc.Due.IsZero() {
		return "no deadline runs"
	}
	s := fmt.Sprintf("%s due %s", inc.DueKind, when(inc.Due, now, loc))
	if inc.Overdue(now) {
		s = "OVERDUE: " + s
	}
	return s
}

// stateText is the state with its close reason.
func stateText(inc *bot.Incident) string {
	if inc.State == bot.StateClosed && inc.CloseReason != "" {
		return fmt.Sprintf("closed (%s)", inc.CloseReason)
	}
	return string(inc.State)
}
