package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sectriage/sectriage/control"
)

// cmdCmd runs one command as a declared person and prints the reply: the
// same registry and rules as chat, for scripts and the operator's shell.
func cmdCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, configPath := newFlags("cmd")
	as := fs.String("as", "", "the `PERSON` (a [[people]] name) to run the command as")
	verbose := fs.Bool("v", false, "say whether the running daemon or this process runs the command")
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
	line := commandLine(fs.Args())
	// The running daemon runs it if there is one, as that person; an
	// undeclared name is an outsider, refused like any other.
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
