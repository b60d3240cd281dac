package main

import (
	"strings"
	"testing"
)

// TestDemoPlaysOtherMembers: with `as`, the demo shows what takes two
// people: a hand-over asked and accepted, a refusal, pings to others.
// The demo's clock starts at the wall clock's time, and bob's ping waits
// for the end of his quiet hours: advance 10h lets it out whenever the
// test runs.
func TestDemoPlaysOtherMembers(t *testing.T) {
	script := "as bob\nhandover core erin\nas erin\naccept handover core\nadvance 10h\nas frank\nconfirm 1\nas mallory\nclaim 1\nshow 1\n"
	code, out, errOut := runCLI(t, script, "demo")
	if code != exitOK {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	wants := []string{
		"> as bob\nYou are now bob, a member of the team.",
		"> handover core erin\nAsked erin to take over the lead of SIG core from bob",
		"[to @erin] @erin bob asks you to take over as lead of SIG core",
		"> accept handover core\nYou lead SIG core now (was bob).",
		"[to @bob] @bob erin accepted: they lead SIG core now.",
		"> confirm 1\nerror: Only the assignee of SEC-1 (erin) or a security officer can confirm it.",
		`> as mallory` + "\n" + `error: There is no "mallory" in the demo team; try alice, bob, carol, dave, erin, frank.`,
		"> claim 1\nYou claimed SEC-1",
		"frank (console)  claimed: claimed by frank", // a failed as changed nothing
	}
	last := 0
	for _, w := range wants {
		i := strings.Index(out[last:], w)
		if i < 0 {
			t.Fatalf("demo output lacks, after what came before, %q:\n%s", w, out)
		}
		last += i + len(w)
	}
}
