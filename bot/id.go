package bot

import (
	"strconv"
	"strings"
)

// ParseIncidentID accepts the ways people refer to an incident: "42", "#42",
// "SEC-42" (any case).
func ParseIncidentID(s string) (int64, error) {
	in := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(in, "#"):
		in = in[1:]
	case len(in) > 4 && strings.EqualFold(in[:4], "SEC-"):
		in = in[4:]
	}
	id, err := strconv.ParseInt(in, 10, 64)
	if _, qerr := ParseQuarantineID(s); err != nil && qerr == nil {
		// The form and the triage channel hand out Q-n references.
		return 0, Errorf(KindInvalid, "%q is a quarantined message, not an incident; try: quarantine show %s", s, strings.ToUpper(strings.TrimSpace(s)))
	}
	if err != nil || id <= 0 || strings.HasPrefix(in, "+") {
		return 0, Errorf(KindInvalid, "%q is not an incident id; write 42, #42 or SEC-42", s)
	}
	return id, nil
}

// FormatID is the incident's name everywhere: SEC-42.
func FormatID(id int64) string { return "SEC-" + strconv.FormatInt(id, 10) }

// ParseQuarantineID accepts a quarantine reference: "Q-7" (any case) or "7".
func ParseQuarantineID(s string) (int64, error) {
	in := strings.TrimSpace(s)
	if len(in) > 2 && strings.EqualFold(in[:2], "Q-") {
		in = in[2:]
	}
	id, err := strconv.ParseInt(in, 10, 64)
	if err != nil || id <= 0 || strings.HasPrefix(in, "+") {
		return 0, Errorf(KindInvalid, "%q is not a quarantine reference; write Q-7", s)
	}
	return id, nil
}
