package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sectriage/sectriage/adapters/mattermost"
	"github.com/sectriage/sectriage/config"
)

// cmdMattermost is the operator's Mattermost setup:
//
//	sectriage mattermost register -config F      create or update the /sec slash command
//	sectriage mattermost accept-user -config F U  trust the account username U names now
func cmdMattermost(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "register" && args[0] != "accept-user") {
		w, code := stderr, exitUsage
		if len(args) > 0 && isHelp(args[0]) {
			w, code = stdout, exitOK
		}
		usageError(w, mustSubcommand("mattermost register"))
		usageError(w, mustSubcommand("mattermost accept-user"))
		return code
	}
	sub := args[0]
	fs, configPath := newFlags("mattermost " + sub)
	if code, done := parseFlags(fs, args[1:], stdout, stderr, exitUsage); done {
		return code
	}
	if sub == "register" && fs.NArg() > 0 {
		usageError(stderr, mustSubcommand("mattermost register"))
		return exitUsage
	}
	cfg, ok := loadConfig(*configPath, stderr)
	if !ok {
		return exitUsage
	}
	if !cfg.Mattermost.Enabled() {
		fmt.Fprintln(stderr, "sectriage: no [mattermost] section with a url in", *configPath)
		return exitUsage
	}
	a, err := openApp(ctx, cfg, discardLogger(), appOptions{platforms: chatPlatforms(cfg)})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	defer a.Close()
	if sub == "accept-user" {
		if fs.NArg() != 1 {
			usageError(stderr, mustSubcommand("mattermost accept-user"))
			return exitUsage
		}
		user := strings.TrimPrefix(fs.Arg(0), "@")
		found, err := a.db.UnpinMattermostUser(ctx, user)
		switch {
		case err != nil:
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		case !found:
			fmt.Fprintf(stdout, "@%s was not pinned to any account; the next start pins the one it names then\n", user)
		default:
			fmt.Fprintf(stdout, "forgot the account @%s was pinned to; the next start of sectriage trusts the account @%s names then\n", user, user)
		}
		return exitOK
	}
	opts, err := mattermostOptions(cfg, false)
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitUsage
	}
	mm, err := mattermost.New(opts, a.svc, a.reg, a.db, nil, discardLogger())
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitUsage
	}
	reg, err := mm.Register(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	if reg.Action == "manual" {
		fmt.Fprintln(stdout, reg.Manual)
		return exitFailed
	}
	fmt.Fprintf(stdout, "slash command /%s %s\n", cfg.Mattermost.Trigger, reg.Action)
	return saveSlashToken(cfg, reg.Token, stdout, stderr)
}

// saveSlashToken writes the command's token to slash_token_file when it
// differs, or tells the operator where it goes.
func saveSlashToken(cfg *config.Config, token string, stdout, stderr io.Writer) int {
	m := cfg.Mattermost
	if token == "" {
		return exitOK
	}
	if m.SlashTokenFile == "" {
		fmt.Fprintf(stdout, "set $%s to the slash command's token: %s\n", m.SlashTokenEnv, token)
		return exitOK
	}
	path := cfg.Resolve(m.SlashTokenFile)
	if old, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(old)) == token {
		return exitOK
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		fmt.Fprintln(stderr, "sectriage: writing the slash command token:", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "wrote the slash command's token to %s\n", path)
	return exitOK
}
