package bot

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The one privacy rule (SPEC §3). Every adapter describes a destination as
// PlaceFacts and asks MayReceive before it delivers report content or
// anything about an incident, and before it lets a command reply in a
// channel show report content. The adapters only gather facts (modes,
// channel type, members and their accounts); what the facts mean is
// decided here, the same way for every platform.

// PlaceKind is what sort of conversation a destination is.
type PlaceKind string

const (
	PlaceChannel PlaceKind = "channel" // a named channel (Mattermost team channel, IRC channel)
	PlaceGroup   PlaceKind = "group"   // a conversation of a few named users
	PlaceDirect  PlaceKind = "direct"  // the bot and one user
)

// MemberStatus is who a member of a destination is, as far as the
// platform's unspoofable identity (a Mattermost user id, an IRC services
// account) tells.
type MemberStatus int

const (
	// MemberUnknown: the platform has not said who this is (an IRC nick
	// whose account was never reported). It counts as an outsider.
	MemberUnknown MemberStatus = iota
	// MemberOutsider: identified, and neither a declared person nor
	// trusted (an IRC nick not logged in, a stranger's account).
	MemberOutsider
	MemberPerson  // a declared person ([[people]])
	MemberTrusted // listed as trusted on that platform
	MemberBot     // sectriage itself
)

func (s MemberStatus) String() string {
	switch s {
	case MemberOutsider:
		return "outsider"
	case MemberPerson:
		return "person"
	case MemberTrusted:
		return "trusted"
	case MemberBot:
		return "bot"
	}
	return "unknown"
}

// allowed says whether a member of this status may read what the team reads.
func (s MemberStatus) allowed() bool {
	return s == MemberPerson || s == MemberTrusted || s == MemberBot
}

// PlaceMember is one reader of a destination.
type PlaceMember struct {
	Name   string // as the platform shows it (nick, username); for alerts, untrusted
	Status MemberStatus
}

// PlaceFacts is what an adapter knows about a destination right now.
type PlaceFacts struct {
	Platform string
	Name     string // the channel or conversation, for reasons and alerts
	Kind     PlaceKind
	// Private is the platform's own closure, verified from the server:
	// IRC modes +s and (+i or +k); a Mattermost private channel, or a
	// direct or group channel the bot is in.
	Private bool
	// Closure says what was seen (IRC modes "+nst", Mattermost type "O"),
	// for the reason given when Private is false.
	Closure string
	// MembersKnown is false while the member list has not been read in
	// full (IRC: the WHO reply has not ended). Members then counts as
	// incomplete and the rule refuses.
	MembersKnown bool
	Members      []PlaceMember
}

// Verdict is the rule's answer for one destination.
type Verdict struct {
	OK     bool
	Reason string // why not, safe to log and show to officers; "" when OK
	// Problem identifies what is wrong, the same for every message held by
	// it and different when the problem changes (another outsider):
	// officers are alerted once per Problem.
	Problem string
	// Outsiders are the members that fail the rule, sorted.
	Outsiders []PlaceMember
}

// MayReceive is the privacy rule: a destination receives report content
// and incident notices only while it is verified private and every member
// is a declared person, a trusted member or the bot.
func MayReceive(f PlaceFacts) Verdict {
	where := f.Platform + " " + string(f.Kind) + " " + f.Name
	if !f.Private {
		closure := f.Closure
		if closure == "" {
			closure = "not verified"
		}
		return Verdict{
			Reason:  fmt.Sprintf("%s is not private (%s)", where, closure),
			Problem: "not-private|" + f.Platform + "|" + f.Name + "|" + f.Closure,
		}
	}
	if !f.MembersKnown {
		return Verdict{
			Reason:  where + ": who is in it is not known yet",
			Problem: "members-unknown|" + f.Platform + "|" + f.Name,
		}
	}
	var out []PlaceMember
	for _, m := range f.Members {
		if !m.Status.allowed() {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return Verdict{OK: true}
	}
	slices.SortFunc(out, func(a, b PlaceMember) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	names := make([]string, len(out))
	for i, m := range out {
		names[i] = m.Name + " (" + m.Status.String() + ")"
	}
	return Verdict{
		Reason:    fmt.Sprintf("%s has %d member(s) who are neither declared people nor trusted: %s", where, len(out), strings.Join(names, ", ")),
		Problem:   "outsiders|" + f.Platform + "|" + f.Name + "|" + strings.ToLower(strings.Join(names, ",")),
		Outsiders: out,
	}
}

// HeldError is a delivery refused by the privacy rule: the outbox keeps
// the message as held, with the reason, and delivers it once the
// destination is fixed. It is never given up.
type HeldError struct{ Verdict Verdict }

func (e *HeldError) Error() string { return "held: " + e.Verdict.Reason }

// Hold is the error an adapter returns for a failed verdict.
func Hold(v Verdict) error { return &HeldError{Verdict: v} }

// IsHeld reports whether err is, or wraps, a HeldError.
func IsHeld(err error) bool {
	var h *HeldError
	return errors.As(err, &h)
}

// PrivacyAlert is what officers are told when a destination fails the
// rule. The key is the problem and the day: one alert per problem however
// many messages it holds, and a reminder each day it lasts.
func PrivacyAlert(v Verdict, now time.Time) (key string, text Text) {
	text.Plain("sectriage is holding messages: ").Untrusted(v.Reason).
		Plain(". Nothing about incidents is posted there until it is fixed; the held messages go out then.")
	return "privacy|" + v.Problem + "|" + now.UTC().Format("2006-01-02"), text
}
