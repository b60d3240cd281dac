package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// cmdCmd runs one command as a declared person and prints the reply: the
// same registry and rules as chat, for scripts and the operator's shell.
func cmdCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, configPath := newFlags("cmd")
	as := fs.String("as", "", "the `PERSON` (a [[people]] name) to run the command as")
	if code, done := parseFlags(fs, args, stdout, stderr, exitUsage); done {
		return code
	}
	if *as == "" || fs.NArg() == 0 {
		usageError(stderr, mustSubcommand("cmd"))
		return exitUsage
	}
	cfg, ok := loadConfig(*configPath, stderr)
	if !ok {
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	a, err := openApp(ctx, cfg, log, appOptions{platforms: chatPlatforms(cfg)})
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	defer a.Close()
	// An undeclared name is an outsider, refused like any other.
	actor := bot.Actor{Person: a.svc.Settings().People.ByName(*as), Platform: bot.PlatformCLI}
	reply := a.reg.Run(ctx, actor, commandLine(fs.Args()), true)
	text := strings.TrimRight(bot.RenderPlain(reply.Text), "\n")
	if reply.Failed {
		fmt.Fprintln(stderr, text)
		return exitFailed
	}
	fmt.Fprintln(stdout, text)
	return exitOK
}

// commandLine is the command the shell words make. One word holding a
// space is a whole command line quoted for the shell ('claim 1'): no
// command name has a space, so it cannot mean a one-word command. Several
// words are each one argument, as the shell split them.
func commandLine(words []string) string {
	if len(words) == 1 && strings.ContainsAny(strings.TrimSpace(words[0]), " \t") {
		return words[0]
	}
	return joinWords(words)
}

// joinWords rebuilds a command line from shell words, quoting those that
// hold spaces or quotes so the parser sees the same words.
func joinWords(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n\"'\\") {
			w = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
		}
		out[i] = w
	}
	return strings.Join(out, " ")
}
