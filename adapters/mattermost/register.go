package mattermost

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// Setting up the slash command through the API, for `sectriage mattermost
// register`, and checking it for `sectriage check`. Creating a slash
// command needs the manage_own_slash_commands permission, which a bot
// lacks by default; then the operator gets the values to enter by hand.

// SlashCommand is the command as sectriage wants it, with the usage hint
// and description made from the command registry.
func (a *Adapter) SlashCommand(teamID string) *model.Command {
	var names, summaries []string
	for _, c := range a.runner.Commands() {
		names = append(names, c.Name)
		if len(summaries) < 4 {
			summaries = append(summaries, c.Name+": "+c.Summary)
		}
	}
	hint := cut("["+strings.Join(names, "|")+"] [args]", 500)
	desc := cut("Security incident desk. "+strings.Join(summaries, "; ")+"; help lists all.", 500)
	return &model.Command{
		TeamId: teamID, Trigger: a.opts.Trigger, Method: model.CommandMethodPost,
		URL:         a.opts.PublicURL + CommandPath,
		DisplayName: "sectriage", Description: "Security incident triage (sectriage)",
		AutoComplete: true, AutoCompleteHint: hint, AutoCompleteDesc: desc,
	}
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// Registration is what Register did.
type Registration struct {
	Action string // "created", "updated", "unchanged" or "manual"
	// Token is the slash command's token when the command was created or
	// read: put it in slash_token_file.
	Token string
	// Manual holds instructions when the bot may not manage commands.
	Manual string
}

// Register creates the slash command, or updates it to match the registry
// and the listener's URL.
func (a *Adapter) Register(ctx context.Context) (*Registration, error) {
	c, _, err := a.inspect(ctx, false)
	if err != nil {
		return nil, err
	}
	want := a.SlashCommand(c.teamID)
	manual := &Registration{Action: "manual", Manual: a.manualSteps(want)}
	cctx, cancel := a.call(ctx)
	defer cancel()
	list, resp, err := a.client.ListCommands(cctx, c.teamID, true)
	if err := apiErr("listing the team's slash commands", resp, err); err != nil {
		if statusOf(err) == http.StatusForbidden {
			return manual, nil
		}
		return nil, err
	}
	for _, have := range list {
		if have.Trigger != want.Trigger || have.DeleteAt != 0 {
			continue
		}
		if sameCommand(have, want) {
			return &Registration{Action: "unchanged", Token: have.Token}, nil
		}
		upd := *have
		upd.Method, upd.URL, upd.DisplayName, upd.Description = want.Method, want.URL, want.DisplayName, want.Description
		upd.AutoComplete, upd.AutoCompleteHint, upd.AutoCompleteDesc = want.AutoComplete, want.AutoCompleteHint, want.AutoCompleteDesc
		got, resp, err := a.client.UpdateCommand(cctx, &upd)
		if err := apiErr("updating the slash command", resp, err); err != nil {
			if statusOf(err) == http.StatusForbidden {
				return manual, nil
			}
			return nil, err
		}
		return &Registration{Action: "updated", Token: got.Token}, nil
	}
	got, resp, err := a.client.CreateCommand(cctx, want)
	if err := apiErr("creating the slash command", resp, err); err != nil {
		if statusOf(err) == http.StatusForbidden {
			return manual, nil
		}
		return nil, err
	}
	return &Registration{Action: "created", Token: got.Token}, nil
}

func sameCommand(a, b *model.Command) bool {
	return a.Method == b.Method && a.URL == b.URL && a.AutoComplete == b.AutoComplete &&
		a.AutoCompleteHint == b.AutoCompleteHint && a.AutoCompleteDesc == b.AutoCompleteDesc &&
		a.DisplayName == b.DisplayName && a.Description == b.Description
}

func (a *Adapter) manualSteps(c *model.Command) string {
	return fmt.Sprintf(`The bot may not manage slash commands. As a team or system admin, in Mattermost:
  Integrations > Slash Commands > Add Slash Command (team %s)
    Title:                 %s
    Description:           %s
    Command Trigger Word:  %s
    Request URL:           %s
    Request Method:        POST
    Autocomplete:          on
    Autocomplete Hint:     %s
    Autocomplete Description: %s
Then put the token Mattermost shows into slash_token_file.`,
		a.opts.Team, c.DisplayName, c.Description, c.Trigger, c.URL, c.AutoCompleteHint, c.AutoCompleteDesc)
}

// Check runs the start checks without changing anything and reports what
// it finds, for `sectriage check`: the account, the team, the triage
// channel, the people's accounts and the slash command. The triage
// channel's privacy is CheckPrivacy's.
func (a *Adapter) Check(ctx context.Context) ([]Finding, error) {
	c, findings, err := a.inspect(ctx, false)
	if err != nil {
		return nil, err
	}
	ok := func(format string, args ...any) {
		findings = append(findings, Finding{false, fmt.Sprintf(format, args...)})
	}
	ok("Mattermost: bot @%s in team %s; %d of the people have accounts", c.botName, a.opts.Team, len(c.ids.byPerson))
	cctx, cancel := a.call(ctx)
	defer cancel()
	want := a.SlashCommand(c.teamID)
	list, resp, err := a.client.ListCommands(cctx, c.teamID, true)
	switch err := apiErr("", resp, err); {
	case statusOf(err) == http.StatusForbidden:
		findings = append(findings, Finding{true, fmt.Sprintf("cannot see the team's slash commands (the bot lacks the permission); make sure /%s calls %s", want.Trigger, want.URL)})
	case err != nil:
		return nil, err
	default:
		found := false
		for _, have := range list {
			if have.Trigger == want.Trigger && have.DeleteAt == 0 {
				found = true
				if have.URL != want.URL || have.Method != want.Method {
					findings = append(findings, Finding{true, fmt.Sprintf("/%s calls %s, not %s: run sectriage mattermost register", want.Trigger, have.URL, want.URL)})
				} else {
					ok("Mattermost: /%s calls %s", want.Trigger, want.URL)
				}
			}
		}
		if !found {
			findings = append(findings, Finding{true, fmt.Sprintf("there is no /%s slash command in team %s: run sectriage mattermost register", want.Trigger, a.opts.Team)})
		}
	}
	return findings, nil
}

// CheckPrivacy asks the privacy rule about the triage channel as it is
// now (its type and every member), for `sectriage check`, which fails
// unless the verdict is OK. It changes nothing and alerts nobody.
func (a *Adapter) CheckPrivacy(ctx context.Context) (bot.Verdict, error) {
	c, _, err := a.inspect(ctx, false)
	if err != nil {
		return bot.Verdict{}, err
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	ch, resp, err := a.client.GetChannel(cctx, c.triageID)
	if err := apiErr("checking the triage channel", resp, err); err != nil {
		return bot.Verdict{}, err
	}
	f, err := a.placeFacts(ctx, c, ch)
	if err != nil {
		return bot.Verdict{}, err
	}
	return bot.MayReceive(f), nil
}
