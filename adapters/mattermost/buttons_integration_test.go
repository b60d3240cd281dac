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
	"github.com/sectriage/sectriage/internal/testenv/mmserver"
)

// buttonPost returns the post with buttons of an incident and its nonce.
func (w *world) buttonPost(t testing.TB, incidentID int64) (postID, nonce string) {
	t.Helper()
	ctx := context.Background()
	posts, err := w.c.db.MattermostButtonPosts(ctx, incidentID)
	if err != nil || len(posts) != 1 {
		t.Fatalf("posts with buttons of incident %d: %v, %v", incidentID, posts, err)
	}
	for id := range posts {
		postID = id
	}
	_, _, nonce, err = w.c.db.MattermostButtonPost(ctx, postID)
	if err != nil {
		t.Fatal(err)
	}
	return postID, nonce
}

// callback posts a button callback straight to the listener, as someone
// who bypasses Mattermost would.
func (w *world) callback(t testing.TB, user, postID string, context map[string]any) (int, model.PostActionIntegrationResponse) {
	t.Helper()
	body, _ := json.Marshal(&model.PostActionIntegrationRequest{
		UserId: w.users[user].Id, PostId: postID, ChannelId: w.triage.Id, TeamId: w.team.Id, Context: context,
	})
	res, err := http.Post(w.listener.URL+ActionPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out model.PostActionIntegrationResponse
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode, out
}

func actionIDs(p *model.Post) []string {
	var ids []string
	for _, att := range p.Attachments() {
		for _, a := range att.Actions {
			ids = append(ids, a.Id)
		}
	}
	return ids
}

func TestButtons(t *testing.T) {
	w := newWorld(t, worldOptions{})
	incA := w.c.open(t, "Incident A")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	incB := w.c.open(t, "Incident B")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	postA, nonceA := w.buttonPost(t, incA.ID)
	postB, nonceB := w.buttonPost(t, incB.ID)
	if postA == postB || nonceA == nonceB {
		t.Fatal("incidents share a post or nonce")
	}
	got, _, err := w.s.Admin().GetPost(ctxT(t), postA, "")
	if err != nil {
		t.Fatal(err)
	}
	if ids := strings.Join(actionIDs(got), ","); ids != "claim,ack,snooze" {
		t.Errorf("buttons of a new incident: %s", ids)
	}

	soon := time.Now().Add(time.Hour)
	t.Run("forged", func(t *testing.T) {
		badSig := w.a.sign(buttonContext{incA.ID, "claim", soon, nonceA})
		badSig["sig"] = strings.Repeat("0", 64)
		swapped := w.a.sign(buttonContext{incB.ID, "claim", soon, nonceA})
		swapped["incident"] = "1"
		for name, tc := range map[string]struct {
			post string
			ctx  map[string]any
		}{
			"bad HMAC":                {postA, badSig},
			"no signature":            {postA, map[string]any{"incident": "1", "action": "claim"}},
			"incident edited":         {postA, swapped},
			"other incident's button": {postA, w.a.sign(buttonContext{incB.ID, "claim", soon, nonceB})},
			"on the other post":       {postB, w.a.sign(buttonContext{incA.ID, "claim", soon, nonceA})},
		} {
			if status, _ := w.callback(t, "alice", tc.post, tc.ctx); status != http.StatusForbidden {
				t.Errorf("%s: HTTP %d, want 403", name, status)
			}
		}
		status, resp := w.callback(t, "alice", postA, w.a.sign(buttonContext{incA.ID, "claim", time.Now().Add(-time.Minute), nonceA}))
		if status != http.StatusOK || !strings.Contains(resp.EphemeralText, "expired") || resp.Update != nil {
			t.Errorf("expired button: HTTP %d, %+v", status, resp)
		}
		for _, inc := range []*bot.Incident{incA, incB} {
			if got := w.c.incident(t, inc.ID); got.Claimed || got.State != bot.StateNew {
				t.Fatalf("a refused callback changed %s: claimed=%v state=%s", inc.Name(), got.Claimed, got.State)
			}
		}
	})

	t.Run("real click", func(t *testing.T) {
		alice := w.client(t, "alice")
		ws := w.s.WebSocket(t, alice.AuthToken)
		if _, err := alice.DoPostAction(ctxT(t), postA, "claim"); err != nil {
			t.Fatalf("clicking Claim: %v", err)
		}
		if got := w.c.incident(t, incA.ID); !got.Claimed || got.Assignee != "alice" || got.State != bot.StateTriage {
			t.Fatalf("after the click: claimed=%v assignee=%q state=%s", got.Claimed, got.Assignee, got.State)
		}
		ev := ws.WaitFor(t, waitLong, func(ev *model.WebSocketEvent) bool {
			return ev.EventType() == model.WebsocketEventPostEdited && mmserver.PostOf(t, ev).Id == postA
		})
		p := mmserver.PostOf(t, ev)
		if !strings.Contains(p.Message, "Assignee: alice") || strings.Join(actionIDs(p), ",") != "snooze" {
			t.Errorf("post after the click: %q, buttons %v", p.Message, actionIDs(p))
		}
		ws.WaitFor(t, waitLong, func(ev *model.WebSocketEvent) bool {
			return ev.EventType() == model.WebsocketEventEphemeralMessage && strings.Contains(mmserver.PostOf(t, ev).Message, "You claimed "+incA.Name())
		})
		if _, n := w.buttonPost(t, incA.ID); n == nonceA {
			t.Error("the nonce was not replaced")
		}
		// Snooze 1d runs the snooze command.
		if _, err := alice.DoPostAction(ctxT(t), postA, "snooze"); err != nil {
			t.Fatalf("clicking Snooze: %v", err)
		}
		ws.WaitFor(t, waitLong, func(ev *model.WebSocketEvent) bool {
			return ev.EventType() == model.WebsocketEventEphemeralMessage && strings.Contains(mmserver.PostOf(t, ev).Message, "snoozed until")
		})
		if got := w.c.incident(t, incA.ID); got.SnoozedUntil.IsZero() {
			t.Error("the Snooze button did not snooze the incident")
		}
	})

	t.Run("replayed", func(t *testing.T) {
		// Release it, then replay the genuine context of the first click.
		if _, err := w.c.svc.Unclaim(context.Background(), bot.Actor{Person: w.c.svc.Settings().People.ByName("alice"), Platform: bot.PlatformCLI}, bot.AssigneeOrOfficer, incA.ID); err != nil {
			t.Fatal(err)
		}
		status, resp := w.callback(t, "bob", postA, w.a.sign(buttonContext{incA.ID, "claim", soon, nonceA}))
		if status != http.StatusOK || !strings.Contains(resp.EphemeralText, "already used") {
			t.Errorf("replay: HTTP %d, %+v", status, resp)
		}
		if got := w.c.incident(t, incA.ID); got.Claimed {
			t.Fatalf("a replayed callback claimed %s for %s", incA.Name(), got.Assignee)
		}
	})

	t.Run("outsider", func(t *testing.T) {
		_, nonce := w.buttonPost(t, incB.ID)
		status, resp := w.callback(t, "carol", postB, w.a.sign(buttonContext{incB.ID, "claim", soon, nonce}))
		if status != http.StatusOK || !strings.Contains(resp.EphemeralText, "only from members") {
			t.Errorf("outsider: HTTP %d, %+v", status, resp)
		}
		if got := w.c.incident(t, incB.ID); got.Claimed {
			t.Fatal("an outsider's click claimed the incident")
		}
		if _, n := w.buttonPost(t, incB.ID); n != nonce {
			t.Error("an outsider's click used up the button")
		}
	})
}
