package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// cmdCmd runs one command as a declared person and prints the reply: the
// same registry and rules as chat, for scripts and the operator's shell.
func cmdCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "sectriage.toml", "config file")
	as := fs.String("as", "", "the person (a [[people]] name) to run the command as")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *as == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: sectriage cmd -config FILE -as PERSON -- COMMAND [ARGS...]")
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
	reply := a.reg.Run(ctx, actor, joinWords(fs.Args()), true)
	text := strings.TrimRight(bot.RenderPlain(reply.Text), "\n")
	if reply.Failed {
		fmt.Fprintln(stderr, text)
		return exitFailed
	}
	fmt.Fprintln(stdout, text)
	return exitOK
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
