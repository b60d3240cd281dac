package mattermost

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// TestPrivacyKeptVerdictSeesANewMemberAtOnce: with the triage channel's
// passing verdict kept (the bot has just posted there), an outsider added
// to it is seen by the very next check, made the moment the add returns,
// and the next confidential post is held.
func TestPrivacyKeptVerdictSeesANewMemberAtOnce(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.c.open(t, "Earlier incident")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	c, err := w.a.current()
	if err != nil {
		t.Fatal(err)
	}
	// The pings that follow the announcement make events (direct
	// channels) that may end kept verdicts, and they come when they come:
	// check again until a verdict is kept.
	k := verdictKey{channel: w.triage.Id, sensitive: true}
	w.c.waitOutboxEmpty(t)
	for deadline := time.Now().Add(waitLong); ; time.Sleep(20 * time.Millisecond) {
		if _, err := w.a.verifyChannel(ctxT(t), c, w.triage.Id, true); err != nil {
			t.Fatal(err)
		}
		if w.a.verdicts.lookup(k, c) != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no verdict kept after a passing check")
		}
	}

	carol := w.users["carol"]
	w.s.AddToChannel(t, w.triage.Id, carol.Id)
	_, err = w.a.verifyChannel(ctxT(t), c, w.triage.Id, true)
	if !bot.IsHeld(err) || !strings.Contains(err.Error(), carol.Username) {
		t.Fatalf("the check right after carol was added: %v, want it held naming her", err)
	}
	w.c.open(t, "Secret vulnerability title")
	a := w.c.waitAttempt(t, "the new-incident post", func(a attempt) bool { return a.m.Kind == bot.MessageNewIncident })
	if !bot.IsHeld(a.err) || !strings.Contains(a.err.Error(), carol.Username) {
		t.Fatalf("posting with carol in the channel: %v, want it held naming her", a.err)
	}
}

// TestPrivacySlashRightAfterANewMember: with the triage channel's verdict
// kept, a claim's answer goes to the channel on the strength of the
// barrier started when the request arrived; an outsider added the moment
// before the next claim makes that answer alice's alone.
func TestPrivacySlashRightAfterANewMember(t *testing.T) {
	w := newWorld(t, worldOptions{})
	inc := w.c.open(t, "Earlier incident")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	// alice holds it already: her claims change nothing and set nothing
	// off that could end the kept verdict.
	cli := bot.Actor{Person: w.c.svc.Settings().People.ByName("alice"), Platform: bot.PlatformCLI}
	if r := w.c.reg.Run(ctxT(t), cli, fmt.Sprintf("claim %d", inc.ID), true); r.Failed {
		t.Fatalf("claim: %v", r.Text)
	}
	w.c.waitOutboxEmpty(t)
	c, err := w.a.current()
	if err != nil {
		t.Fatal(err)
	}
	k := verdictKey{channel: w.triage.Id, sensitive: true}
	for deadline := time.Now().Add(waitLong); w.a.verdicts.lookup(k, c) == nil; time.Sleep(20 * time.Millisecond) {
		if _, err := w.a.verifyChannel(ctxT(t), c, w.triage.Id, true); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no verdict kept after a passing check")
		}
	}
	alice := w.client(t, "alice")
	line := fmt.Sprintf("/sec claim %d", inc.ID)
	resp, _, err := alice.ExecuteCommand(ctxT(t), w.triage.Id, line)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(resp.Text, "Working on it") {
		t.Skip("the answer missed the slash budget: too slow a machine for this test")
	}
	if resp.ResponseType != model.CommandResponseTypeInChannel {
		t.Fatalf("the claim with the verdict kept: %s %q, want it in the channel", resp.ResponseType, resp.Text)
	}

	w.s.AddToChannel(t, w.triage.Id, w.users["carol"].Id)
	resp, _, err = alice.ExecuteCommand(ctxT(t), w.triage.Id, line)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ResponseType != model.CommandResponseTypeEphemeral || strings.Contains(resp.Text, "/sec") {
		t.Fatalf("the claim right after carol was added: %s %q, want it to alice alone", resp.ResponseType, resp.Text)
	}
}
