package mattermost

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
	"github.com/sectriage/sectriage/publication"
	"github.com/sectriage/sectriage/publish"
)

// TestAdvisoryDialogOnRealServer drafts an advisory with /sec on a real
// Mattermost, opens the edit dialog (the server delivers it to the user's
// client), and submits it through the server as the client would: a bad
// CWE comes back under its field, a good submission is saved; then the
// approvals go through /sec as well.
func TestAdvisoryDialogOnRealServer(t *testing.T) {
	w := newWorld(t, worldOptions{})
	inc := w.c.open(t, "Heap overflow in the SIP parser")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	bob := w.client(t, "bob")
	run := func(c *model.Client4, line string) string {
		t.Helper()
		resp, _, err := c.ExecuteCommand(ctxT(t), w.triage.Id, "/sec "+line)
		if err != nil {
			t.Fatalf("/sec %s: %v", line, err)
		}
		return resp.Text
	}
	if got := run(bob, fmt.Sprintf("advisory %d set title Old title", inc.ID)); !strings.Contains(got, "advisory: set title") {
		t.Fatalf("set title: %q", got)
	}
	ws := w.s.WebSocket(t, bob.AuthToken)
	run(bob, fmt.Sprintf("advisory %d edit", inc.ID))
	ev := ws.WaitFor(t, waitLong, func(ev *model.WebSocketEvent) bool { return ev.EventType() == model.WebsocketEventOpenDialog })
	var open model.OpenDialogRequest
	raw, _ := ev.GetData()["dialog"].(string)
	if err := json.Unmarshal([]byte(raw), &open); err != nil || open.Dialog.Elements[0].Default != "Old title" {
		t.Fatalf("open_dialog event: %v %q", err, raw)
	}
	submit := func(fields map[string]any) *model.SubmitDialogResponse {
		t.Helper()
		resp, _, err := bob.SubmitInteractiveDialog(ctxT(t), model.SubmitDialogRequest{
			URL: open.URL, CallbackId: open.Dialog.CallbackId, State: open.Dialog.State,
			ChannelId: w.triage.Id, TeamId: w.team.Id, Submission: fields,
		})
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		return resp
	}
	if r := submit(map[string]any{"title": "New title", "cwe": "CWE-0x"}); r.Errors["cwe"] == "" {
		t.Fatalf("a bad CWE was accepted: %+v", r)
	}
	if r := submit(map[string]any{"title": "New title", "description": "A long header overflows.", "cwe": "CWE-122"}); r.Error != "" || len(r.Errors) > 0 {
		t.Fatalf("valid submission: %+v", r)
	}
	_, rec, err := w.c.svc.AdvisoryDraft(ctxT(t), bot.SystemActor(), inc.ID)
	if err != nil || rec.Draft.Title != "New title" || len(rec.Draft.CWEs) != 1 {
		t.Fatalf("draft after the dialog: %+v %v", rec.Draft, err)
	}
	// bob edited, so alice reviews; approving through /sec.
	if got := run(w.client(t, "alice"), fmt.Sprintf("approve %d text", inc.ID)); !strings.Contains(got, "You approved") {
		t.Fatalf("approve: %q", got)
	}
	if got := run(bob, fmt.Sprintf("approve %d text", inc.ID)); !strings.Contains(got, "bob edited the text") {
		t.Fatalf("self-approval: %q", got)
	}
}

// TestAdvisoryPublishOnRealServer is the README's flow with /sec on a real
// Mattermost: bob drafts, alice (officer) approves and publishes; the
// incident is disclosed and the pages are written.
func TestAdvisoryPublishOnRealServer(t *testing.T) {
	dir := t.TempDir()
	var pub *publication.Publisher
	w := newWorld(t, worldOptions{publisher: func(svc *bot.Service) commands.Publisher {
		var err error
		pub, err = publication.New(svc, publication.Options{
			Site:      publish.Settings{Vendor: "Example", Project: "Example", BaseURL: "https://security.example.org", OSVPrefix: "x_EXAMPLE-"},
			Policy:    publish.Policy{Scope: "libexample.", Disclosure: "With the fix.", Mail: "security@example.org", Deadlines: bot.DefaultDeadlines()},
			OutputDir: dir,
		}, testLog(t))
		if err != nil {
			t.Fatal(err)
		}
		return pub
	}})
	// Two people in this world: one approval (an officer's) suffices.
	st := *w.c.svc.Settings()
	st.Publication = bot.PublicationPolicy{Approvals: 1, BaseURL: "https://security.example.org"}
	w.c.svc.SetSettings(&st)
	inc := w.c.open(t, "CANARY-TITLE heap overflow")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	alice, bob := w.client(t, "alice"), w.client(t, "bob")
	run := func(c *model.Client4, line, want string) {
		t.Helper()
		resp, _, err := c.ExecuteCommand(ctxT(t), w.triage.Id, "/sec "+fmt.Sprintf(line, inc.ID))
		if err != nil || !strings.Contains(resp.Text, want) {
			t.Fatalf("/sec %s: %v %q, want %q", fmt.Sprintf(line, inc.ID), err, resp.Text, want)
		}
	}
	run(alice, "ack %d", "You acknowledged")
	run(alice, "confirm %d", "triage → fixing")
	run(bob, "advisory %d set title Heap overflow in the SIP parser", "advisory: set title")
	run(bob, "advisory %d set summary A long header overflows a buffer.", "advisory: set summary")
	run(bob, "advisory %d set description The parser trusts a length field.", "advisory: set description")
	run(bob, "advisory %d affected libsip 1.4.0..1.4.3", "advisory: affected")
	run(bob, "advisory %d ref patch https://git.example.org/c/1", "Missing: 1 approval of the text (0 so far)")
	run(bob, "publish %d now", "Only a security officer")
	run(alice, "approve %d", "ready to publish")
	run(alice, "publish %d now", "is published as")
	if got := w.c.incident(t, inc.ID); got.State != bot.StateDisclosed {
		t.Fatalf("after publish: %s", got.State)
	}
	b, err := os.ReadFile(filepath.Join(dir, "advisories", "index.html"))
	if err != nil || !strings.Contains(string(b), "Heap overflow in the SIP parser") || strings.Contains(string(b), "CANARY") {
		t.Fatalf("index: %v\n%s", err, b)
	}
}
