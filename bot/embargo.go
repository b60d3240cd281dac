package bot

import (
	"fmt"
	"time"
)

// BeforeEmbargoFlag is the word that makes a disclosure during a running
// embargo deliberate.
const BeforeEmbargoFlag = "--before-embargo"

// CheckDisclosure is the rule for moving an incident to disclosed (fixed,
// disclose, state … disclosed) while its embargo runs: publishing early
// breaks the promise made to the reporter and to the vendors told under
// it, so it is refused unless the person says they mean it.
func CheckDisclosure(inc *Incident, now time.Time, deliberate bool, loc *time.Location) error {
	if inc.Embargo.IsZero() || !now.Before(inc.Embargo) || deliberate {
		return nil
	}
	return Errorf(KindConflict, "%s is under embargo until %s (%s from now): disclosing or releasing the fix now breaks it for the reporter and everyone told under it. "+
		"If the embargo is over early by agreement, or the issue is public already, repeat the command with %s, or move the embargo first (embargo %d clear).",
		inc.Name(), FormatTime(inc.Embargo, loc), FormatDuration(inc.Embargo.Sub(now).Round(time.Minute)), BeforeEmbargoFlag, inc.ID)
}

// DisclosureNote is what the timeline records of a deliberate early
// disclosure; "" when no embargo runs.
func DisclosureNote(inc *Incident, now time.Time) string {
	if inc.Embargo.IsZero() || !now.Before(inc.Embargo) {
		return ""
	}
	return fmt.Sprintf("disclosed before the embargo (until %s)", FormatTime(inc.Embargo, time.UTC))
}
