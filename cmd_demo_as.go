package main

import (
	"context"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// asCommand is the demo-only command that runs a command as another
// declared person, so one terminal can play the whole team (a second
// reviewer, an officer). The command runs under that person's rules.
func asCommand(reg *commands.Registry, svc *bot.Service) commands.Command {
	return commands.Command{
		Name: "as", Args: "<person> <command …>", Summary: "demo only: run a command as another team member (as bob approve 1)",
		Permission: bot.Member, MinArgs: 2, MaxArgs: -1,
		Handler: commands.HandlerFunc(func(ctx context.Context, req *commands.Request) (commands.Reply, error) {
			p := svc.Settings().People.ByName(req.Args[0])
			if p == nil {
				return commands.Reply{}, bot.Errorf(bot.KindInvalid, "%q is not a declared person.", bot.EscapeControl(req.Args[0], false))
			}
			if words, err := commands.Split(req.Rest(1)); err == nil && len(words) > 0 && reg.Lookup(words[0]) != nil && reg.Lookup(words[0]).Name == "as" {
				return commands.Reply{}, bot.Errorf(bot.KindInvalid, "One as at a time.")
			}
			return reg.Run(ctx, bot.Actor{Person: p, Platform: req.Actor.Platform}, req.Rest(1), req.Private), nil
		}),
	}
}
