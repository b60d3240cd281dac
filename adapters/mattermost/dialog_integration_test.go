package mattermost

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
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
