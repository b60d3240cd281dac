package bot

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMayReceiveEveryKindAndMember walks every destination kind, closed or
// not, with every kind of member beside the team: the rule passes exactly
// when the destination is verified private, its members are known, and
// each is a person, trusted or the bot.
func TestMayReceiveEveryKindAndMember(t *testing.T) {
	kinds := []PlaceKind{PlaceChannel, PlaceGroup, PlaceDirect}
	statuses := []MemberStatus{MemberUnknown, MemberOutsider, MemberPerson, MemberTrusted, MemberBot}
	for _, kind := range kinds {
		for _, private := range []bool{true, false} {
			for _, known := range []bool{true, false} {
				for _, st := range statuses {
					name := fmt.Sprintf("%s/private=%v/known=%v/%s", kind, private, known, st)
					t.Run(name, func(t *testing.T) {
						f := PlaceFacts{Platform: "p", Name: "#c", Kind: kind, Private: private, Closure: "x",
							MembersKnown: known,
							Members:      []PlaceMember{{"bot", MemberBot}, {"alice", MemberPerson}, {"Mallory", st}}}
						v := MayReceive(f)
						want := private && known && (st == MemberPerson || st == MemberTrusted || st == MemberBot)
						if v.OK != want {
							t.Fatalf("OK = %v, want %v (%s)", v.OK, want, v.Reason)
						}
						if v.OK != (v.Reason == "") || v.OK != (v.Problem == "") {
							t.Fatalf("reason %q / problem %q with OK %v", v.Reason, v.Problem, v.OK)
						}
						if private && known && !want {
							if len(v.Outsiders) != 1 || v.Outsiders[0].Name != "Mallory" || !strings.Contains(v.Reason, "Mallory ("+st.String()+")") {
								t.Fatalf("outsiders %+v, reason %q", v.Outsiders, v.Reason)
							}
						}
					})
				}
			}
		}
	}
}

// TestMayReceiveProblems: the problem key, which deduplicates the
// officers' alert, is the same for every message held by one problem and
// changes with it.
func TestMayReceiveProblems(t *testing.T) {
	base := PlaceFacts{Platform: "irc", Name: "#sec", Kind: PlaceChannel, Private: true, MembersKnown: true,
		Members: []PlaceMember{{"eve", MemberOutsider}, {"alice", MemberPerson}}}
	a, b := MayReceive(base), MayReceive(base)
	if a.Problem != b.Problem {
		t.Fatal("the same facts gave two problems")
	}
	more := base
	more.Members = append(append([]PlaceMember(nil), base.Members...), PlaceMember{"zed", MemberUnknown})
	if MayReceive(more).Problem == a.Problem {
		t.Fatal("another outsider must be another problem")
	}
	public := base
	public.Private, public.Closure = false, "+nt"
	if p := MayReceive(public); p.OK || p.Problem == a.Problem || !strings.Contains(p.Reason, "+nt") {
		t.Fatalf("public: %+v", p)
	}
	empty := PlaceFacts{Platform: "mattermost", Name: "x", Kind: PlaceChannel, Private: true, MembersKnown: true}
	if !MayReceive(empty).OK {
		t.Fatal("a private channel with no member listed (the bot alone) must pass")
	}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	k1, text := PrivacyAlert(a, now)
	k2, _ := PrivacyAlert(b, now.Add(time.Hour))
	k3, _ := PrivacyAlert(a, now.Add(24*time.Hour))
	if k1 != k2 || k1 == k3 {
		t.Fatalf("alert keys %q %q %q: want one per problem and day", k1, k2, k3)
	}
	if !strings.Contains(RenderPlain(text), "eve (outsider)") {
		t.Fatalf("alert %q does not say who", RenderPlain(text))
	}
	if !IsHeld(fmt.Errorf("wrapped: %w", Hold(a))) || IsHeld(Permanent(fmt.Errorf("x"))) {
		t.Fatal("IsHeld")
	}
}
