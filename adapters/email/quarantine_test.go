package email_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/teamkey"
)

// TestQuarantineFormReference: the Q-n the form answers with is the entry
// officers see on the desk, with the sender the form was given, and the
// desk lists the entries newest first. (Release after a key is added:
// TestQuarantineCLI in package main.)
func TestQuarantineFormReference(t *testing.T) {
	ctx := context.Background()
	team, err := teamkey.Generate("Team", "security@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := teamkey.Generate("Other", "security@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, team, pipelineOptions{})
	srv := newFormServer(t, p, 100)
	desk := bot.NewQuarantineDesk(p.in, p.db, 0, discard())
	officer := bot.Actor{Person: p.svc.Settings().People.ByName("alice"), Platform: bot.PlatformConsole}
	for i := range 2 {
		armored, err := other.Encrypt([]byte("CANARY-QFORM encrypted to the wrong key"))
		if err != nil {
			t.Fatal(err)
		}
		code, out := postJSON(t, srv.URL+"/report", map[string]string{
			"email": "rita@example.net", "subject": "wrong key " + string(rune('a'+i)), "body": string(armored),
		})
		if code != http.StatusAccepted || out["reason"] != bot.RejectWrongKey {
			t.Fatalf("form: %d %v", code, out)
		}
		ref := out["reference"].(string)
		id, err := bot.ParseQuarantineID(ref)
		if err != nil {
			t.Fatal(err)
		}
		view, err := desk.Show(ctx, officer, bot.Officer, id)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if view.Entry.Name() != ref || view.Entry.Source != bot.SourceWeb || view.Entry.Reason != bot.RejectWrongKey ||
			!strings.Contains(view.Entry.Sender, "rita@example.net") {
			t.Errorf("%s on the desk: %+v", ref, view.Entry)
		}
		if strings.Contains(view.Header, "CANARY-QFORM") {
			t.Errorf("%s: show printed content", ref)
		}
	}
	list, err := desk.List(ctx, officer, bot.Officer, 10)
	if err != nil || len(list) != 2 || list[0].ID != 2 || list[1].ID != 1 {
		t.Fatalf("desk list: %+v %v", list, err)
	}
}
