package mattermost

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// The /sec slash command. Mattermost POSTs a form (token, team_id,
// channel_id, user_id, command, text, response_url, ...) with the header
// "Authorization: Token <token>", and waits a limited time for the answer.

// slashTimeout bounds a command that was answered later through
// response_url.
const slashTimeout = 2 * time.Minute

// maxBody caps a slash command's or a button click's body: Mattermost
// sends a few hundred bytes.
const maxBody = 64 << 10

// readBody reads the whole body, whatever its type, up to maxBody, and
// answers 413 when it is over (as the listener does for its own, higher,
// limit) or 400 when it cannot be read; it reports whether to go on.
func readBody(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "bad request", http.StatusBadRequest)
		}
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// readOnly commands answer only the user who asked, wherever they ask.
var readOnly = map[string]bool{"help": true, "list": true, "show": true, "oncall": true}

// quickCommand bounds how old the privacy proof of a command's answer
// may be. The answer is checked as of the request's arrival, by a
// barrier started then, beside the command (barrier.go), so that the
// user does not wait for the command and the barrier one after the
// other. A command that ran longer than this (a slow disk, a busy
// database) gets a barrier begun after it ran, as any post does: the
// arrival is then too long ago to vouch for the channel. 50 ms is ten
// times a whole claim through Mattermost, and far less than anyone
// takes to add a member and have them read along.
const quickCommand = 50 * time.Millisecond

// arrival is when a slash request arrived: a fences mark and the time.
type arrival struct {
	mark uint64
	at   time.Time
}

// answerMayGoPublic says whether a command's answer may be shown to the
// whole channel, as far as is known before the command runs: a person of
// the team asked, in one of sectriage's channels, a command that does
// not only read (those answer whoever asked alone). commandResponse
// shows it only if, besides, the command succeeded, shows no report
// content, and the channel passes the privacy rule.
func (a *Adapter) answerMayGoPublic(c *connection, actor bot.Actor, channelID, line string) bool {
	name, _, _ := strings.Cut(line, " ")
	return actor.Person != nil && !readOnly[strings.ToLower(name)] && a.watched(c, channelID)
}

// startBarrier starts the barrier that a command's answer will need
// (barrier.go), beside the command, when its check can use a kept
// verdict at all. Not tied to the command's end: a barrier in flight may
// carry other checks, which its cancellation would send to REST. Like
// every barrier it ends when its event comes, the session ends, or after
// the call timeout; if the answer does not need it (the command failed,
// or shows report content) it has cost one preference save.
func (a *Adapter) startBarrier(ctx context.Context, c *connection, channelID string, since uint64) {
	if a.verdicts.lookup(verdictKey{channel: channelID, sensitive: true}, c) == nil {
		return // the answer's check asks REST
	}
	a.goBackground(func() { a.barrier(ctx, since) })
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	arrived := arrival{mark: a.fences.mark(), at: a.svc.Clock().Now()}
	if !readBody(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if !a.slashTokenOK(r) {
		a.log.Warn("refused a slash command with a wrong token", "remote", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	// Background calls to Mattermost wait for this answer (answers.go).
	an := a.pending.begin()
	posting := false
	defer func() {
		if !posting {
			a.pending.end(an)
		}
	}()
	f := r.PostForm
	userID, channelID, responseURL := f.Get("user_id"), f.Get("channel_id"), f.Get("response_url")
	line := strings.TrimSpace(f.Get("text"))
	if line == "" {
		line = "help"
	}
	c, err := a.current()
	if err != nil {
		writeCommand(w, ephemeral("sectriage is still connecting to Mattermost; try again in a moment."))
		return
	}
	actor := bot.Actor{Person: a.person(c, userID), Platform: bot.PlatformMattermost}
	if actor.Person == nil {
		a.log.Warn("slash command from someone not on the team", "user", userID)
	}
	if id := a.incidentOf(channelID); id != 0 {
		// Typed in an incident's channel: it acts on that incident.
		line = a.runner.ForIncident(line, id)
	}
	if id, ok := isDialogLine(line); ok && actor.Person != nil {
		// Mattermost's dialog (dialog.go); the trigger expires in seconds.
		if msg := a.openAdvisoryDialog(r.Context(), actor, userID, f.Get("trigger_id"), id); msg != "" {
			writeCommand(w, ephemeral(msg))
			return
		}
		writeCommand(w, &model.CommandResponse{})
		return
	}

	// Run in the background so that a slow command cannot miss
	// Mattermost's deadline: past the budget, the user is told it is under
	// way and gets the answer through response_url.
	done := make(chan *model.CommandResponse, 1)
	base := context.WithoutCancel(r.Context()) // the work outlives the request
	if a.answerMayGoPublic(c, actor, channelID, line) {
		a.startBarrier(base, c, channelID, arrived.mark)
	}
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(base, slashTimeout)
		defer cancel()
		// Ephemeral answers reach only the user, so the reply may show
		// report content; commandResponse decides what goes public.
		reply := a.runner.Run(ctx, actor, line, true)
		done <- a.commandResponse(ctx, c, actor, reply, channelID, line, arrived)
		a.refreshAfter(ctx, line, 0, reply)
	})
	timer := time.NewTimer(a.opts.SlashBudget)
	defer timer.Stop()
	select {
	case resp := <-done:
		if resp.ResponseType == model.CommandResponseTypeInChannel {
			// In flight until Mattermost has posted it. Counted before it
			// is written, so that its post cannot come first.
			a.pending.posting(an, channelID, userID, 1+len(resp.ExtraResponses))
			posting = true
		}
		writeCommand(w, resp)
	case <-timer.C:
		if !a.validResponseURL(responseURL) {
			a.log.Warn("slash command is slow and its response_url is not this server's; the answer will be lost", "response_url_host", hostOf(responseURL))
			writeCommand(w, ephemeral("Working on it; the answer could not be delivered (bad response_url)."))
			return
		}
		writeCommand(w, ephemeral("Working on it…"))
		a.goBackground(func() {
			select {
			case resp := <-done:
				a.followUp(responseURL, resp)
			case <-time.After(slashTimeout):
			}
		})
	}
}

// slashTokenOK compares the form's token, and the Authorization header's
// when present, with the configured one in constant time.
func (a *Adapter) slashTokenOK(r *http.Request) bool {
	want := []byte(a.opts.SlashToken)
	if len(want) == 0 {
		return false // not configured: nothing matches
	}
	ok := subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), want) == 1
	if h := r.Header.Get("Authorization"); h != "" {
		tok, found := strings.CutPrefix(h, "Token ")
		ok = ok && found && subtle.ConstantTimeCompare([]byte(tok), want) == 1
	}
	return ok
}

// commandResponse renders a reply. It goes to the whole channel only when
// that is safe: it may (answerMayGoPublic), the command succeeded and
// shows no report content, and the channel passes the privacy rule
// (private, nobody in it but the team): the echo of a CVE id or an
// embargo date is about an incident too. The rule is proven as of the
// request's arrival if the command was quick (quickCommand), else as of
// now.
func (a *Adapter) commandResponse(ctx context.Context, c *connection, actor bot.Actor, reply commands.Reply, channelID, line string, arrived arrival) *model.CommandResponse {
	typ := model.CommandResponseTypeEphemeral
	text := reply.Text
	if !reply.Failed && !reply.Confidential && a.answerMayGoPublic(c, actor, channelID, line) {
		since := a.fences.mark()
		if a.svc.Clock().Now().Sub(arrived.at) <= quickCommand {
			since = arrived.mark
		}
		if ch, err := a.verifyChannelAsOf(ctx, c, channelID, true, since); err == nil && ch.Type == model.ChannelTypePrivate {
			typ = model.CommandResponseTypeInChannel
			var t bot.Text
			t.Untrusted("/" + a.opts.Trigger + " " + line).Line().Append(reply.Text)
			text = t
		}
	}
	parts := pack(blocks(text, c.mention), a.opts.PostLimit)
	if len(parts) == 0 {
		parts = []string{"(no reply)"}
	}
	if len(parts) > a.opts.MaxPosts {
		parts = append(parts[:a.opts.MaxPosts], fmt.Sprintf("(%d more part(s) cut; narrow the command down)", len(parts)-a.opts.MaxPosts))
	}
	resp := &model.CommandResponse{ResponseType: typ, Text: parts[0], SkipSlackParsing: true}
	for _, p := range parts[1:] {
		resp.ExtraResponses = append(resp.ExtraResponses, &model.CommandResponse{ResponseType: typ, Text: p, SkipSlackParsing: true})
	}
	return resp
}

// validResponseURL accepts only this Mattermost server's command hooks, so
// a forged request cannot make the bot send an answer elsewhere.
func (a *Adapter) validResponseURL(u string) bool {
	return strings.HasPrefix(u, a.opts.URL+"/hooks/commands/") && !strings.ContainsAny(u[len(a.opts.URL):], "@\\")
}

// followUp posts a deferred answer to response_url.
func (a *Adapter) followUp(responseURL string, resp *model.CommandResponse) {
	body, err := json.Marshal(resp)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := a.http.Do(req)
	if err != nil {
		a.log.Warn("could not deliver a deferred slash command answer", "err", err)
		return
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		a.log.Warn("Mattermost refused a deferred slash command answer", "status", res.StatusCode)
	}
}

func ephemeral(text string) *model.CommandResponse {
	return &model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: text, SkipSlackParsing: true}
}

func writeCommand(w http.ResponseWriter, resp *model.CommandResponse) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// incidentArg finds the incident a command line is about: its first
// argument, for the commands that take one.
func incidentArg(line string) (int64, bool) {
	words := strings.Fields(line)
	if len(words) < 2 {
		return 0, false
	}
	id, err := bot.ParseIncidentID(words[1])
	return id, err == nil
}

func hostOf(u string) string {
	rest, _ := strings.CutPrefix(u, "https://")
	rest, _ = strings.CutPrefix(rest, "http://")
	host, _, _ := strings.Cut(rest, "/")
	return host
}
