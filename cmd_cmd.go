package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sectriage/sectriage/control"
)

// cmdCmd runs one command as a declared person and prints the reply: the
// same registry and rules as chat, for scripts and the operator's shell.
func cmdCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "sectriage.toml", "config file")
	as := fs.String("as", "", "the person (a [[people]] name) to run the command as")
	verbose := fs.Bool("v", false, "say whether the running daemon or this process runs the command")
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
	line := joinWords(fs.Args())
	// The running daemon runs it if there is one, as that person.
	socket := controlSocket(cfg)
	text, failed, err := control.NewClient(socket).Command(ctx, *as, line)
	if !viaDaemon(err, *verbose, socket, stderr) {
		log := newLogger(cfg.Log, stderr)
		a, err := openApp(ctx, cfg, log, appOptions{platforms: chatPlatforms(cfg)})
		if err != nil {
			fmt.Fprintln(stderr, "sectriage:", err)
			return exitFailed
		}
		defer a.Close()
		text, failed = runCommand(ctx, a, *as, line)
	} else if err != nil {
		fmt.Fprintln(stderr, "sectriage: the command may or may not have run:", err)
		return exitFailed
	}
	if failed {
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
