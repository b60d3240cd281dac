package commands_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// The cast of the permission table, in the golden world: the incident is in
// SIG core, whose lead is bob; erin holds it (claimed, or as the on-duty
// contact); dave is a member who leads another SIG (web) and is on duty
// there, the one who could take it over by routing it.
const (
	outsider = "outsider"
	member   = "member"   // dave
	assignee = "assignee" // erin
	lead     = "lead"     // bob
	officer  = "officer"  // carol
)

var cast = map[string]string{outsider: "", member: "dave", assignee: "erin", lead: "bob", officer: "carol"}

var roles = []string{outsider, member, assignee, lead, officer}

// team is every role but the outsider.
var team = []string{member, assignee, lead, officer}

// permission is who may run a command (%d stands for the incident's id),
// on an incident someone else claimed and on one nobody claimed.
type permission struct {
	line      string
	claimed   []string
	unclaimed []string // nil: the same as claimed
}

// expected is THE table of who may do what (SPEC §6). Every registered
// command must have a row, and no row may name a command that is not
// registered.
var expected = map[string]permission{
	"help":     {line: "help", claimed: team},
	"list":     {line: "list all", claimed: team},
	"show":     {line: "show %d", claimed: team},
	"stats":    {line: "stats", claimed: team},
	"claim":    {line: "claim %d", claimed: team},
	"unclaim":  {line: "unclaim %d", claimed: []string{assignee, officer}},
	"ack":      {line: "ack %d", claimed: team},
	"assign":   {line: "assign %d dave", claimed: []string{lead, officer}},
	"confirm":  {line: "confirm %d looks real", claimed: []string{assignee, officer}},
	"reject":   {line: "reject %d", claimed: []string{assignee, officer}},
	"fixed":    {line: "fixed %d", claimed: []string{assignee, officer}},
	"disclose": {line: "disclose %d", claimed: []string{assignee, officer}},
	"close":    {line: "close %d wontfix", claimed: []string{assignee, officer}},
	"state":    {line: "state %d fixing", claimed: []string{assignee, officer}},
	"severity": {line: "severity %d high", claimed: team},
	"cve":      {line: "cve %d CVE-2026-12345", claimed: team},
	"embargo":  {line: "embargo %d 10d", claimed: []string{assignee, officer}},
	"due":      {line: "due %d 3d", claimed: []string{officer}},
	"note":     {line: "note %d seen it", claimed: team},
	// Routing hands the incident to the new SIG's on-duty contact: never a
	// way to take over someone else's claim.
	"route":  {line: "route %d web", claimed: []string{assignee, lead, officer}, unclaimed: team},
	"reply":  {line: "reply %d thanks", claimed: []string{assignee, officer}},
	"status": {line: "status revoke %d", claimed: []string{officer}},
	// The desk of rejected messages: every subcommand is the officers'
	// (TestQuarantinePermissions walks them).
	"quarantine": {line: "quarantine", claimed: []string{officer}},
	"snooze":     {line: "snooze %d 1d", claimed: team},
	"oncall":     {line: "oncall core", claimed: team},
	"roster":     {line: "roster", claimed: team},
	"cover":      {line: "cover core carol from 2027-06-01 until 2027-06-02", claimed: []string{lead, officer}},
	"away":       {line: "away erin from 2027-06-01 until 2027-06-02", claimed: []string{assignee, lead, officer}},
	"handover":   {line: "handover core erin", claimed: []string{lead, officer}},
	// An officer first hands web's lead to the actor, so there is a
	// hand-over to accept.
	"accept": {line: "accept handover web", claimed: team},
	// Advisories (issue 13): team members draft and review; an officer
	// publishes; the assignee or an officer sends the draft to distros.
	// setup below gives approve a text to approve and notify an embargo.
	"advisory": {line: "advisory %d set title Heap overflow", claimed: team},
	"approve":  {line: "approve %d text", claimed: team},
	"publish":  {line: "publish %d at 3d", claimed: []string{officer}},
	"notify":   {line: "notify distros %d", claimed: []string{assignee, officer}},
}

// setup are the lines an officer (alice) runs before a command's probe,
// so that it can succeed for those allowed.
var setup = map[string][]string{
	"approve": {"advisory %d set title Heap overflow", "advisory %d set description A long header overflows a buffer."},
	"notify":  {"embargo %d 10d"},
}

// stateSteps drive a fresh incident to each state, as an officer.
var stateSteps = []struct {
	state bot.State
	lines []string
}{
	{bot.StateNew, nil},
	{bot.StateTriage, []string{"ack %d"}},
	{bot.StateFixing, []string{"ack %d", "confirm %d"}},
	{bot.StateDisclosed, []string{"ack %d", "confirm %d", "fixed %d"}},
	{bot.StateClosed, []string{"ack %d", "confirm %d", "fixed %d", "close %d fixed"}},
}

// TestPermissionTable runs every registered command as an outsider, a
// member, the assignee, the SIG lead and an officer, against an incident
// in every state that someone else claimed (and that nobody claimed), and
// compares allowed or refused with the expected table. Refused means a
// forbidden reply and nothing changed; allowed means never forbidden
// (the state may still make it a conflict), and each command must succeed
// for someone somewhere, so no row passes by failing for another reason.
func TestPermissionTable(t *testing.T) {
	ctx := context.Background()
	probe := newWorld(t)
	registered := map[string]bool{}
	for _, c := range probe.reg.Commands() {
		registered[c.Name] = true
		if _, ok := expected[c.Name]; !ok {
			t.Errorf("command %q has no row in the permission table", c.Name)
		}
	}
	for name := range expected {
		if !registered[name] {
			t.Errorf("the permission table names %q, which is not a command", name)
		}
	}
	succeeded := map[string]bool{}
	runs := 0
	for _, claimed := range []bool{true, false} {
		for _, st := range stateSteps {
			w := newWorld(t)
			officerActor := actorOf(w, "alice")
			// erin is on duty for core from now, so new incidents are hers
			// without her claiming them.
			mustRun(t, w, officerActor, "cover core erin until 20d")
			for _, name := range sortedNames() {
				perm := expected[name]
				allowed := perm.claimed
				if !claimed && perm.unclaimed != nil {
					allowed = perm.unclaimed
				}
				for _, role := range roles {
					inc, err := w.svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{
						Title: "permission probe", Reporter: "reporter@example.net", Encrypted: true})
					if err != nil {
						t.Fatal(err)
					}
					if inc.Assignee != "erin" {
						t.Fatalf("setup: SEC-%d went to %q, not erin", inc.ID, inc.Assignee)
					}
					if claimed {
						mustRun(t, w, officerActor, fmt.Sprintf("assign %d erin", inc.ID))
					}
					for _, l := range st.lines {
						mustRun(t, w, officerActor, fmt.Sprintf(l, inc.ID))
					}
					for _, l := range setup[name] {
						w.reg.Run(ctx, officerActor, fmt.Sprintf(l, inc.ID), true) // may be refused by the state
					}
					if name == "accept" && cast[role] != "" {
						w.reg.Run(ctx, officerActor, "handover web "+cast[role], true) // may already lead it
					}
					before := snapshot(t, w, inc.ID)
					line := perm.line
					if strings.Contains(line, "%d") {
						line = fmt.Sprintf(line, inc.ID)
					}
					reply := w.reg.Run(ctx, actorOf(w, cast[role]), line, true)
					runs++
					want := contains(allowed, role)
					what := fmt.Sprintf("%s as %s (%s) on a %s incident in %s", line, role, cast[role], claimedText(claimed), st.state)
					forbidden := reply.Failed && reply.Kind == bot.KindForbidden
					switch {
					case want && forbidden:
						t.Errorf("%s: refused, want allowed: %s", what, bot.RenderPlain(reply.Text))
					case !want && !forbidden:
						t.Errorf("%s: %s, want refused as forbidden: %s", what, outcome(reply), bot.RenderPlain(reply.Text))
					case !want:
						if after := snapshot(t, w, inc.ID); after != before {
							t.Errorf("%s: refused, but the incident changed:\n%s\n→\n%s", what, before, after)
						}
					}
					if !reply.Failed {
						succeeded[name] = true
					}
				}
			}
		}
	}
	for name := range expected {
		if !succeeded[name] {
			t.Errorf("%s never succeeded for anyone allowed: its row proves nothing", name)
		}
	}
	t.Logf("%d commands, %d runs", len(expected), runs)
}

// TestRouteCannotTakeOverAClaim is the attack of issue 11, spelled out:
// dave, on duty for web, routes erin's claimed incident to web to become
// its assignee. Refused; while nobody has claimed it, routing is anyone's.
func TestRouteCannotTakeOverAClaim(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	dave, erin := actorOf(w, "dave"), actorOf(w, "erin")
	mustRun(t, w, erin, "claim 1")
	r := w.reg.Run(ctx, dave, "route 1 web", true)
	if !r.Failed || r.Kind != bot.KindForbidden {
		t.Fatalf("dave routed erin's claimed incident: %s", outcome(r))
	}
	inc, err := w.svc.Store().Incident(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if inc.SIG != "core" || inc.Assignee != "erin" || !inc.Claimed {
		t.Fatalf("after the refusal SEC-1 is in %s with %s (claimed %v)", inc.SIG, inc.Assignee, inc.Claimed)
	}
	mustRun(t, w, erin, "unclaim 1")
	mustRun(t, w, dave, "route 1 web")
	if inc, _ = w.svc.Store().Incident(ctx, 1); inc.SIG != "web" || inc.Assignee != "dave" {
		t.Fatalf("unclaimed route: SEC-1 is in %s with %s", inc.SIG, inc.Assignee)
	}
}

// TestEveryRuleIsDocumented checks that help's "Who" line of each command
// is its rule's, so what help promises is what the service enforces.
func TestEveryRuleIsDocumented(t *testing.T) {
	w := newWorld(t)
	for _, c := range w.reg.Commands() {
		r := w.reg.Run(context.Background(), actorOf(w, "alice"), "help "+c.Name, true)
		if got := bot.RenderPlain(r.Text); !strings.Contains(got, "Who: "+c.Permission.Who()+".") {
			t.Errorf("help %s does not say who may run it (%s):\n%s", c.Name, c.Permission.Name(), got)
		}
	}
}

func actorOf(w *world, name string) bot.Actor {
	return bot.Actor{Person: w.svc.Settings().People.ByName(name), Platform: bot.PlatformConsole}
}

func mustRun(t *testing.T, w *world, a bot.Actor, line string) {
	t.Helper()
	if r := w.reg.Run(context.Background(), a, line, true); r.Failed {
		t.Fatalf("%s as %s: %s", line, a.Name(), bot.RenderPlain(r.Text))
	}
}

// snapshot is everything a refused command must leave alone: the incident
// and the length of its timeline.
func snapshot(t *testing.T, w *world, id int64) string {
	t.Helper()
	inc, events, err := w.svc.Timeline(context.Background(), bot.SystemActor(), id)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s %s %s claimed=%v sev=%s cves=%v embargo=%s updated=%s snoozed=%s events=%d",
		inc.State, inc.SIG, inc.Assignee, inc.Claimed, inc.Severity, inc.CVEs, inc.Embargo.Format(time.RFC3339),
		inc.Updated.Format(time.RFC3339Nano), inc.SnoozedUntil.Format(time.RFC3339), len(events))
}

func sortedNames() []string {
	var names []string
	for n := range expected {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func claimedText(claimed bool) string {
	if claimed {
		return "claimed"
	}
	return "unclaimed"
}

func outcome(r commands.Reply) string {
	if r.Failed {
		return "failed (" + string(r.Kind) + ")"
	}
	return "allowed"
}
