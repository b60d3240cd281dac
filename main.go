// Command sectriage runs a security-response desk in chat: encrypted
// vulnerability reports become incidents in private Mattermost and IRC
// channels, assigned to whoever is on duty, with deadlines nagged about
// until they are closed.
//
// Usage:
//
//	sectriage run -config sectriage.toml        the daemon
//	sectriage ingest -config F < message        take one report from an MTA
//	sectriage cmd -config F -as PERSON -- WORDS  run one command as a person
//	sectriage check -config F                    validate config, database and keys
//	sectriage backup -config F OUT.db            consistent copy of the database while it runs
//	sectriage mattermost register -config F      create or update the /sec slash command
//	sectriage demo                               try it: local, no accounts needed
//	sectriage version
//	sectriage help [SUBCOMMAND]                  the list, or one subcommand's flags and examples
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1  // a command was refused or failed; check found problems
	exitUsage   = 2  // bad flags or config
	exitTempErr = 75 // EX_TEMPFAIL: the MTA should retry (ingest)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var ro runOptions
	if len(os.Args) > 1 && os.Args[1] == "run" {
		// Only the daemon reloads; SIGHUP keeps its default (terminate)
		// for the other subcommands.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		ro.reload = hup
	}
	code := runWith(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, ro)
	stop()
	os.Exit(code)
}

// run dispatches a subcommand. It is main without the exit and without
// signals, so tests can call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, args, stdin, stdout, stderr, runOptions{})
}

// runWith is run with what main passes on from the signals.
func runWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, ro runOptions) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr, ro)
	case "cmd":
		return cmdCmd(ctx, args[1:], stdout, stderr)
	case "ingest":
		return cmdIngest(ctx, args[1:], stdin, stdout, stderr)
	case "check":
		return cmdCheck(ctx, args[1:], stdout, stderr)
	case "backup":
		return cmdBackup(ctx, args[1:], stdout, stderr)
	case "mattermost":
		return cmdMattermost(ctx, args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args[1:], stdin, stdout, stderr)
	case "export":
		return cmdExport(ctx, args[1:], stdout, stderr)
	case "systemd-unit":
		return cmdSystemdUnit(ctx, args[1:], stdout, stderr)
	case "version", "-v", "-version", "--version":
		if len(args) > 1 && isHelp(args[1]) {
			s, _ := lookupSubcommand("version")
			printHelp(stdout, s, nil)
			return exitOK
		}
		info, _ := debug.ReadBuildInfo()
		fmt.Fprint(stdout, versionText(info))
		return exitOK
	case "help", "-h", "-help", "--help":
		return cmdHelp(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "sectriage: unknown subcommand %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
}

// cmdHelp is `sectriage help [SUBCOMMAND...]`: the list, or one entry.
func cmdHelp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	name := strings.Join(args, " ")
	if isHelp(args[0]) {
		name = "help"
	}
	s, ok := lookupSubcommand(name)
	if ok && (s.name == "help" || s.name == "version") {
		printHelp(stdout, s, nil) // no flags of their own
		return exitOK
	}
	if !ok {
		fmt.Fprintf(stderr, "sectriage help: no subcommand %q\n", strings.Join(args, " "))
		usage(stderr)
		return exitUsage
	}
	// The subcommand prints its own help, with its flags.
	return runWith(ctx, append(strings.Fields(s.name), "-h"), nil, stdout, stderr, runOptions{})
}
