package mattermost

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// Buttons on an incident's post. Each carries a context signed with the
// button secret: incident, action, expiry and the post's current nonce.
// Mattermost keeps the context on the server (clients never see it) and
// sends it back on a click; the endpoint checks the signature, the expiry,
// that the post is the incident's, and that the nonce is still current.
// Every click that is acted on replaces the nonce, so a replayed callback
// finds nothing to do.

// Button actions and the command each one runs.
var buttonActions = []struct {
	id, name, style string
	line            func(id int64) string
	applies         func(inc *bot.Incident) bool
}{
	{"claim", "Claim", "primary", func(id int64) string { return fmt.Sprintf("claim %d", id) },
		func(inc *bot.Incident) bool { return inc.State.Open() && !inc.Claimed }},
	{"ack", "Ack", "default", func(id int64) string { return fmt.Sprintf("ack %d", id) },
		func(inc *bot.Incident) bool { return inc.State == bot.StateNew }},
	{"snooze", "Snooze 1d", "default", func(id int64) string { return fmt.Sprintf("snooze %d 1d", id) },
		func(inc *bot.Incident) bool { return inc.State.Open() }},
}

// buttonContext is what a button's signature covers.
type buttonContext struct {
	Incident int64
	Action   string
	Expires  time.Time
	Nonce    string
}

func (b buttonContext) payload() string {
	return fmt.Sprintf("sectriage-button-v1|%d|%s|%d|%s", b.Incident, b.Action, b.Expires.Unix(), b.Nonce)
}

func (a *Adapter) sign(b buttonContext) map[string]any {
	mac := hmac.New(sha256.New, a.opts.ButtonSecret)
	mac.Write([]byte(b.payload()))
	return map[string]any{
		"incident": strconv.FormatInt(b.Incident, 10),
		"action":   b.Action,
		"expires":  strconv.FormatInt(b.Expires.Unix(), 10),
		"nonce":    b.Nonce,
		"sig":      hex.EncodeToString(mac.Sum(nil)),
	}
}

var (
	errBadSignature = errors.New("bad signature")
	errExpired      = errors.New("expired")
)

// verify checks a callback's context. An expired context is still
// returned, so the user can be told which incident it was for.
func (a *Adapter) verify(ctx map[string]any, now time.Time) (buttonContext, error) {
	if len(a.opts.ButtonSecret) < 16 {
		return buttonContext{}, errBadSignature // not configured: nothing verifies
	}
	str := func(k string) string { s, _ := ctx[k].(string); return s }
	id, err1 := strconv.ParseInt(str("incident"), 10, 64)
	exp, err2 := strconv.ParseInt(str("expires"), 10, 64)
	sig, err3 := hex.DecodeString(str("sig"))
	if err1 != nil || err2 != nil || err3 != nil {
		return buttonContext{}, errBadSignature
	}
	b := buttonContext{Incident: id, Action: str("action"), Expires: time.Unix(exp, 0), Nonce: str("nonce")}
	mac := hmac.New(sha256.New, a.opts.ButtonSecret)
	mac.Write([]byte(b.payload()))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return buttonContext{}, errBadSignature
	}
	if now.After(b.Expires) {
		return b, errExpired
	}
	return b, nil
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// incidentPost is the post that shows an incident: the announcement with
// its current summary, and the buttons that apply in its state.
func (a *Adapter) incidentPost(c *connection, inc *bot.Incident, channelID, nonce string) *model.Post {
	msg := render(bot.Announcement(inc, a.location()), c.mention)
	post := &model.Post{ChannelId: channelID, Message: msg}
	status := fmt.Sprintf("State: %s · Severity: %s · Assignee: %s", inc.State, inc.Severity, orNobody(inc.Assignee))
	if inc.Claimed {
		status += " (claimed)"
	}
	if inc.AckedBy != "" {
		status += " · Acknowledged by " + inc.AckedBy
	}
	att := &model.MessageAttachment{
		Fallback: fmt.Sprintf("%s: %s", inc.Name(), inc.State),
		Color:    severityColor(inc.Severity),
		Text:     escapePlain(status, true),
	}
	expires := a.svc.Clock().Now().Add(a.opts.ButtonTTL)
	for _, b := range buttonActions {
		if !b.applies(inc) {
			continue
		}
		att.Actions = append(att.Actions, &model.PostAction{
			Id: b.id, Type: model.PostActionTypeButton, Name: b.name, Style: b.style,
			Integration: &model.PostActionIntegration{
				URL:     a.opts.PublicURL + ActionPath,
				Context: a.sign(buttonContext{Incident: inc.ID, Action: b.id, Expires: expires, Nonce: nonce}),
			},
		})
	}
	model.ParseMessageAttachment(post, []*model.MessageAttachment{att})
	return post
}

func severityColor(s bot.Severity) string {
	switch s {
	case bot.SeverityCritical:
		return "#d24b4e"
	case bot.SeverityHigh:
		return "#e07b39"
	case bot.SeverityMedium:
		return "#e8b339"
	case bot.SeverityLow:
		return "#3db887"
	default:
		return "#8c8c8c"
	}
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// refreshIncidentPosts updates every post with buttons of an incident to
// its current state. Best effort: a failure only leaves a post stale.
func (a *Adapter) refreshIncidentPosts(ctx context.Context, incidentID int64) {
	c, err := a.current()
	if err != nil {
		return
	}
	a.pending.yield(ctx)
	posts, err := a.store.MattermostButtonPosts(ctx, incidentID)
	if err != nil || len(posts) == 0 {
		return
	}
	inc, err := a.store.Incident(ctx, incidentID)
	if err != nil {
		a.log.Warn("cannot refresh incident posts", "incident", incidentID, "err", err)
		return
	}
	for postID, channelID := range posts {
		_, _, nonce, err := a.store.MattermostButtonPost(ctx, postID)
		if err != nil || nonce == "" {
			continue
		}
		// The summary holds the title: only into a channel still private.
		if _, err := a.verifyChannel(ctx, c, channelID, true); err != nil {
			continue
		}
		post := a.incidentPost(c, inc, channelID, nonce)
		post.Id = postID
		cctx, cancel := a.call(ctx)
		_, resp, err := a.client.UpdatePost(cctx, postID, post)
		cancel()
		if err := apiErr("updating the post of "+inc.Name(), resp, err); err != nil {
			a.log.Warn("cannot refresh an incident post", "incident", incidentID, "post", postID, "err", err)
		}
	}
}

// serveAction handles a button click.
func (a *Adapter) serveAction(w http.ResponseWriter, r *http.Request) {
	var req model.PostActionIntegrationRequest
	if !readBody(w, r) {
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	log := a.log.With("post", req.PostId, "user", req.UserId)
	c, err := a.current()
	if err != nil {
		writeAction(w, nil, "sectriage is still connecting to Mattermost; try again in a moment.")
		return
	}
	b, err := a.verify(req.Context, a.svc.Clock().Now())
	switch {
	case errors.Is(err, errExpired):
		writeAction(w, nil, fmt.Sprintf("This button has expired; use /%s %s %d.", a.opts.Trigger, b.Action, b.Incident))
		return
	case err != nil:
		log.Warn("refused a button callback", "reason", err)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	// A genuine click: background calls wait for its answer (answers.go).
	defer a.pending.end(a.pending.begin())
	channelID, incidentID, nonce, err := a.store.MattermostButtonPost(ctx, req.PostId)
	if err != nil {
		log.Error("reading the button post", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if channelID == "" || incidentID != b.Incident || channelID != req.ChannelId {
		// A genuine context presented for another post or incident.
		log.Warn("refused a button callback", "reason", "context does not belong to this post", "incident", b.Incident)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	person := a.person(c, req.UserId)
	if person == nil {
		log.Warn("button clicked by someone not on the team")
		writeAction(w, nil, "Sorry, sectriage takes commands only from members of the security team.")
		return
	}
	var action func(int64) string
	for _, ba := range buttonActions {
		if ba.id == b.Action {
			action = ba.line
		}
	}
	if action == nil || a.runner.Lookup(strings.Fields(action(0))[0]) == nil {
		writeAction(w, nil, fmt.Sprintf("%q is not available in this version of sectriage.", b.Action))
		return
	}
	next := newNonce()
	if nonce != b.Nonce {
		a.staleButton(ctx, w, c, req, incidentID, nonce)
		return
	}
	if ok, err := a.store.SwapMattermostNonce(ctx, req.PostId, nonce, next); err != nil || !ok {
		if err != nil {
			log.Error("consuming the button nonce", "err", err)
		}
		a.staleButton(ctx, w, c, req, incidentID, nonce)
		return
	}
	actor := bot.Actor{Person: person, Platform: bot.PlatformMattermost}
	reply := a.runner.Run(ctx, actor, action(b.Incident), true)
	update := a.currentPost(ctx, c, incidentID, req.ChannelId, next)
	writeAction(w, update, render(reply.Text, c.mention))
}

// staleButton answers a click on a button whose nonce was used already: a
// replay, a double click, or a client showing an old version of the post.
// Nothing is done; the post is brought up to date.
func (a *Adapter) staleButton(ctx context.Context, w http.ResponseWriter, c *connection, req model.PostActionIntegrationRequest, incidentID int64, nonce string) {
	a.log.Warn("button callback with a used nonce", "post", req.PostId, "user", req.UserId)
	writeAction(w, a.currentPost(ctx, c, incidentID, req.ChannelId, nonce),
		"That button was already used; the post now shows the current state.")
}

// currentPost renders the incident's post as it is now, or nil when the
// incident cannot be read or the channel is no longer fit for it.
func (a *Adapter) currentPost(ctx context.Context, c *connection, incidentID int64, channelID, nonce string) *model.Post {
	inc, err := a.store.Incident(ctx, incidentID)
	if err != nil {
		a.log.Error("reading the incident for its post", "incident", incidentID, "err", err)
		return nil
	}
	if _, err := a.verifyChannel(ctx, c, channelID, true); err != nil {
		return nil
	}
	return a.incidentPost(c, inc, channelID, nonce)
}

func writeAction(w http.ResponseWriter, update *model.Post, text string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&model.PostActionIntegrationResponse{
		Update: update, EphemeralText: text, SkipSlackParsing: true,
	})
}
