package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// Canaries: everything that identifies the reporter of the probe incident.
var reporterCanaries = []string{
	"canary.reporter@example.net",              // address
	"CAFEF00DCAFEF00DCAFEF00DCAFEF00DCAFEF00D", // key fingerprint
	"C4NARYKEY1D00001",                         // signing key id
	"Canary Reporter",                          // signer's name
	"canary-uid@example.org",                   // signer's user id address
}

// TestNonPrivateRepliesIdentifyNoReporter runs every registered command
// with Private=false against an incident whose reporter is made of
// canaries (address, key, verified signer), after a history that names
// them in notes and transition notes, and checks that no reply and no
// notice queued for a chat channel outside the confidential ones carries
// any of them. It also checks the private show does carry them, so the
// test would see a leak.
func TestNonPrivateRepliesIdentifyNoReporter(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	rep := bot.Report{
		From:                   reporterCanaries[0],
		Signature:              bot.Signature{Status: bot.SigVerified, KeyID: reporterCanaries[2], Fingerprint: reporterCanaries[1], Signer: reporterCanaries[3] + " <" + reporterCanaries[4] + ">"},
		ReporterKeyFingerprint: reporterCanaries[1],
		ReporterKeySource:      "verified signer",
		Parts:                  []bot.ReportPart{{Encrypted: true, Text: "x"}},
	}
	inc, err := w.svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{
		Title: "Bug found by " + reporterCanaries[3], Reporter: rep.From, ReporterKey: rep.ReporterKeyFingerprint,
		Encrypted: true, Detail: rep.Summary("imap"),
	})
	if err != nil {
		t.Fatal(err)
	}
	alice := actorOf(w, "alice")
	// The team names the reporter where it may: in private.
	for _, line := range []string{
		"claim %d",
		"note %d " + reporterCanaries[3] + " wrote from " + reporterCanaries[0] + ", key id " + reporterCanaries[2],
		"confirm %d thanks to " + reporterCanaries[3] + " " + reporterCanaries[1],
		"reply %d Dear " + reporterCanaries[3],
	} {
		mustRun(t, w, alice, fmt.Sprintf(line, inc.ID))
	}
	private := bot.RenderPlain(w.reg.Run(ctx, alice, fmt.Sprintf("show %d", inc.ID), true).Text)
	for _, c := range reporterCanaries {
		if !strings.Contains(private, c) {
			t.Fatalf("the private show lacks %q, so this test could not see it leak:\n%s", c, private)
		}
	}

	check := func(what, text string) {
		t.Helper()
		for _, c := range reporterCanaries {
			if strings.Contains(text, c) {
				t.Errorf("%s shows the reporter's %q:\n%s", what, c, text)
			}
		}
	}
	for _, name := range sortedNames() {
		line := expected[name].line
		if strings.Contains(line, "%d") {
			line = fmt.Sprintf(line, inc.ID)
		}
		for _, who := range []string{"alice", "erin"} {
			r := w.reg.Run(ctx, actorOf(w, who), line, false)
			check(fmt.Sprintf("non-private %q as %s", line, who), bot.RenderPlain(r.Text))
			if r.Confidential {
				t.Errorf("non-private %q as %s answered a confidential reply", line, who)
			}
			// After each change, the timeline as shown non-privately.
			show := w.reg.Run(ctx, actorOf(w, who), fmt.Sprintf("show %d", inc.ID), false)
			check(fmt.Sprintf("non-private show after %q", line), bot.RenderPlain(show.Text))
		}
	}
	msgs, err := w.db.DueMessages(ctx, w.clock.Now().Add(365*24*time.Hour), 100000)
	if err != nil {
		t.Fatal(err)
	}
	chat := 0
	for _, m := range msgs {
		if m.Confidential || m.Dest.Platform == bot.PlatformEmail {
			continue // private channels only, or mail to the reporter themselves
		}
		chat++
		check(fmt.Sprintf("%s message to %+v", m.Kind, m.Dest), bot.RenderPlain(m.Text))
	}
	if chat == 0 {
		t.Fatal("no non-confidential chat message was queued: the check saw nothing")
	}
}
