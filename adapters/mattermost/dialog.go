package mattermost

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// `advisory <id> edit` opens Mattermost's interactive dialog with the
// draft's text fields. Mattermost posts the submission to DialogPath; it
// is validated here, field by field, with the same setters as the chat
// commands, and applied as one edit under the advisory command's rule.

// DialogPath receives dialog submissions.
const DialogPath = "/mattermost/dialog"

// dialogTTL is how long an opened dialog may be submitted.
const dialogTTL = time.Hour

// AdvisoryEditor is what the dialog needs of the service (*bot.Service).
type AdvisoryEditor interface {
	AdvisoryDraft(ctx context.Context, a bot.Actor, id int64) (*bot.Incident, *bot.AdvisoryRecord, error)
	EditAdvisory(ctx context.Context, a bot.Actor, rule bot.Rule, id int64, what string, change func(*bot.Advisory) error) (bot.AdvisoryOutcome, error)
}

// dialogFields are the draft fields the dialog edits, in order.
var dialogFields = []struct {
	name, label, typ string
	max              int
	value            func(d *bot.Advisory) string
}{
	{"title", "Title", "text", 200, func(d *bot.Advisory) string { return d.Title }},
	{"summary", "Summary", "textarea", 300, func(d *bot.Advisory) string { return d.Summary }},
	{"description", "Description", "textarea", 3700, func(d *bot.Advisory) string { return d.Description }},
	{"workarounds", "Workarounds", "textarea", 3700, func(d *bot.Advisory) string { return d.Workarounds }},
	{"cwe", "CWE ids", "text", 200, func(d *bot.Advisory) string { return strings.Join(d.CWEs, ", ") }},
	{"cve", "CVE ids", "text", 200, func(d *bot.Advisory) string { return strings.Join(d.CVEs, ", ") }},
}

// isDialogLine reports whether line is `advisory <id> edit`.
func isDialogLine(line string) (int64, bool) {
	words := strings.Fields(line)
	if len(words) != 3 || !strings.EqualFold(words[0], "advisory") || !strings.EqualFold(words[2], "edit") {
		return 0, false
	}
	id, err := bot.ParseIncidentID(words[1])
	return id, err == nil
}

// dialogState is what the dialog's signed state covers: whom it was
// opened for, and until when.
func (a *Adapter) dialogState(id int64, userID string, expires time.Time) string {
	payload := fmt.Sprintf("sectriage-dialog-v1|%d|%s|%d", id, userID, expires.Unix())
	mac := hmac.New(sha256.New, a.opts.ButtonSecret)
	mac.Write([]byte(payload))
	return fmt.Sprintf("%d|%d|%s", id, expires.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

func (a *Adapter) verifyDialogState(state, userID string, now time.Time) (int64, error) {
	parts := strings.Split(state, "|")
	if len(parts) != 3 || len(a.opts.ButtonSecret) < 16 {
		return 0, errBadSignature
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errBadSignature
	}
	want := a.dialogState(id, userID, time.Unix(exp, 0))
	if !hmac.Equal([]byte(want), []byte(state)) {
		return 0, errBadSignature
	}
	if now.After(time.Unix(exp, 0)) {
		return id, errExpired
	}
	return id, nil
}

// openAdvisoryDialog answers `advisory <id> edit` from the slash command.
func (a *Adapter) openAdvisoryDialog(ctx context.Context, actor bot.Actor, userID, triggerID string, id int64) string {
	ed, ok := a.svc.(AdvisoryEditor)
	if !ok || len(a.opts.ButtonSecret) < 16 {
		return "The advisory dialog is not available here; use advisory <id> set <field> <text>."
	}
	if triggerID == "" {
		return "Mattermost sent no trigger for a dialog; use advisory <id> set <field> <text>."
	}
	inc, rec, err := ed.AdvisoryDraft(ctx, actor, id)
	if err != nil {
		return bot.UserMessage(err)
	}
	d := &rec.Draft
	dialog := model.Dialog{
		CallbackId:  "advisory",
		Title:       "Advisory of " + inc.Name(),
		SubmitLabel: "Save",
		State:       a.dialogState(id, userID, a.svc.Clock().Now().Add(dialogTTL)),
		IntroductionText: "Saving withdraws the approvals given so far when anything changed. " +
			"Products, references and credits: advisory " + strconv.FormatInt(id, 10) + " affected|ref|credit.",
	}
	for _, f := range dialogFields {
		dialog.Elements = append(dialog.Elements, model.DialogElement{
			DisplayName: f.label, Name: f.name, Type: f.typ, Default: f.value(d), MaxLength: f.max, Optional: true,
		})
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	resp, err := a.client.OpenInteractiveDialog(cctx, model.OpenDialogRequest{TriggerId: triggerID, URL: a.opts.PublicURL + DialogPath, Dialog: dialog})
	if err := apiErr("opening the advisory dialog", resp, err); err != nil {
		a.log.Warn("cannot open the advisory dialog", "incident", id, "err", err)
		return "Could not open the dialog; use advisory <id> set <field> <text>."
	}
	return ""
}

// serveDialog applies a submitted dialog: every field checked first, each
// problem shown under its field; then one edit, under the rule of the
// advisory command, recorded in the timeline like any other.
func (a *Adapter) serveDialog(w http.ResponseWriter, r *http.Request) {
	var req model.SubmitDialogRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if req.Cancelled {
		w.WriteHeader(http.StatusOK)
		return
	}
	answer := func(resp model.SubmitDialogResponse) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}
	id, err := a.verifyDialogState(req.State, req.UserId, a.svc.Clock().Now())
	if err != nil {
		a.log.Warn("refused an advisory dialog submission", "err", err, "user", req.UserId)
		answer(model.SubmitDialogResponse{Error: "This dialog is no longer valid; run advisory <id> edit again."})
		return
	}
	c, err := a.current()
	ed, ok := a.svc.(AdvisoryEditor)
	cmd := a.runner.Lookup("advisory")
	if err != nil || !ok || cmd == nil {
		answer(model.SubmitDialogResponse{Error: "sectriage is not ready; try again in a moment."})
		return
	}
	actor := bot.Actor{Person: a.person(c, req.UserId), Platform: bot.PlatformMattermost}
	if actor.Person == nil {
		answer(model.SubmitDialogResponse{Error: "Only members of the security team can do that."})
		return
	}
	values := map[string]string{}
	for _, f := range dialogFields {
		v, _ := req.Submission[f.name].(string) // an emptied optional field comes as null
		values[f.name] = v
	}
	// Each field alone against the current draft, so each error is shown
	// under its own field.
	_, rec, err := ed.AdvisoryDraft(r.Context(), actor, id)
	if err != nil {
		answer(model.SubmitDialogResponse{Error: bot.UserMessage(err)})
		return
	}
	errs := map[string]string{}
	for _, f := range dialogFields {
		probe := rec.Draft.Clone()
		if err := probe.Set(f.name, values[f.name]); err != nil {
			errs[f.name] = bot.UserMessage(err)
		}
	}
	if len(errs) > 0 {
		answer(model.SubmitDialogResponse{Errors: errs})
		return
	}
	// The timeline names the fields that change.
	probe := rec.Draft.Clone()
	var changed []string
	for _, f := range dialogFields {
		before := f.value(&probe)
		_ = probe.Set(f.name, values[f.name]) // checked above
		if f.value(&probe) != before {
			changed = append(changed, f.name)
		}
	}
	what := "set " + strings.Join(changed, ", ") + " (dialog)"
	out, err := ed.EditAdvisory(r.Context(), actor, cmd.Permission, id, what, func(d *bot.Advisory) error {
		for _, f := range dialogFields {
			if err := d.Set(f.name, values[f.name]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		answer(model.SubmitDialogResponse{Error: bot.UserMessage(err)})
		return
	}
	if out.Changed {
		a.log.Info("advisory edited in the dialog", "incident", id, "fields", strings.Join(changed, ","))
		a.goBackground(func() { a.refreshIncidentPosts(context.WithoutCancel(r.Context()), id) })
	}
	w.WriteHeader(http.StatusOK)
}
