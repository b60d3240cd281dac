package mattermost

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// TestAdvisoryDialog opens the advisory dialog from the slash command and
// submits it: each invalid field is answered under its name and changes
// nothing; a valid submission is one edit in the timeline under the
// advisory command's rule; a state signed for someone else, a tampered
// state or an outsider is refused.
func TestAdvisoryDialog(t *testing.T) {
	w := newFakeWorld(t, nil)
	w.ready(t)
	ctx := context.Background()
	inc, err := w.c.svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "x", Reporter: "r@example.net"})
	if err != nil {
		t.Fatal(err)
	}
	alice := bot.Actor{Person: w.c.svc.Settings().People.ByName("alice"), Platform: bot.PlatformCLI}
	if _, err := w.c.svc.EditAdvisory(ctx, alice, bot.Member, inc.ID, "set title", func(a *bot.Advisory) error { return a.Set("title", "Old title") }); err != nil {
		t.Fatal(err)
	}

	status, resp := w.slash(t, w.slashForm(w.bob, "advisory 1 edit"), "")
	if status != 200 || resp == nil || resp.Text != "" {
		t.Fatalf("slash: %d %+v", status, resp)
	}
	var open model.OpenDialogRequest
	select {
	case open = <-w.f.dialogs:
	case <-time.After(5 * time.Second):
		t.Fatal("no dialog opened")
	}
	if open.TriggerId != "dHJpZ2dlcg==" || open.URL != w.listener.URL+DialogPath || len(open.Dialog.Elements) != len(dialogFields) ||
		open.Dialog.Elements[0].Name != "title" || open.Dialog.Elements[0].Default != "Old title" {
		t.Fatalf("dialog = %+v", open)
	}
	submit := func(user, state string, fields map[string]any) model.SubmitDialogResponse {
		t.Helper()
		b, _ := json.Marshal(model.SubmitDialogRequest{Type: "dialog_submission", CallbackId: "advisory", State: state, UserId: user, Submission: fields})
		res, err := http.Post(w.listener.URL+DialogPath, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out model.SubmitDialogResponse
		if res.ContentLength != 0 {
			_ = json.NewDecoder(res.Body).Decode(&out)
		}
		if res.StatusCode != 200 {
			t.Fatalf("dialog submission: HTTP %d", res.StatusCode)
		}
		return out
	}
	events := func() int {
		_, ev, _ := w.c.svc.Timeline(ctx, bot.SystemActor(), inc.ID)
		return len(ev)
	}
	title := func() string {
		_, rec, _ := w.c.svc.AdvisoryDraft(ctx, alice, inc.ID)
		return rec.Draft.Title
	}
	before := events()
	bad := submit(w.bob, open.Dialog.State, map[string]any{"title": "New title", "cwe": "CWE-0x", "cve": "CVE-26-1", "description": "ok"})
	if bad.Errors["cwe"] == "" || bad.Errors["cve"] == "" || bad.Errors["title"] != "" || title() != "Old title" || events() != before {
		t.Fatalf("invalid submission: %+v; title %q", bad, title())
	}
	good := submit(w.bob, open.Dialog.State, map[string]any{"title": "New title", "description": "A long header overflows.", "cwe": "79", "summary": nil})
	if good.Error != "" || len(good.Errors) > 0 || title() != "New title" {
		t.Fatalf("valid submission: %+v; title %q", good, title())
	}
	_, ev, _ := w.c.svc.Timeline(ctx, bot.SystemActor(), inc.ID)
	if last := ev[len(ev)-1]; last.Kind != bot.EventAdvisory || last.Actor != "bob" || !strings.Contains(last.Details, "title, description, cwe") {
		t.Fatalf("timeline: %+v", last)
	}
	// The state was signed for bob: alice cannot submit with it.
	if r := submit(w.alice, open.Dialog.State, map[string]any{"title": "Alice's"}); r.Error == "" || title() != "New title" {
		t.Fatalf("another user's state: %+v", r)
	}
	tampered := strings.Replace(open.Dialog.State, "1|", "2|", 1)
	if r := submit(w.bob, tampered, map[string]any{"title": "Tampered"}); r.Error == "" {
		t.Fatalf("tampered state: %+v", r)
	}
	stranger := w.f.addUser("mallory", false)
	if r := submit(stranger, w.a.dialogState(inc.ID, stranger, time.Now().Add(time.Hour)), map[string]any{"title": "Mallory's"}); r.Error == "" || title() != "New title" {
		t.Fatalf("outsider: %+v", r)
	}
}
