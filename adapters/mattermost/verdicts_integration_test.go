package mattermost

import (
	"strings"
	"testing"
	"time"

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
