package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// subcommand is one entry of the CLI: what `help`, `-h` and the usage
// list print. Each is declared once, here.
type subcommand struct {
	name     string // "mattermost register"
	synopsis string // after "sectriage NAME"
	summary  string // one line for the list
	detail   string // what it does, for NAME -h
	examples []string
}

var subcommands = []subcommand{
	{name: "run", synopsis: "-config FILE", summary: "run the daemon",
		detail: "Runs until SIGTERM or SIGINT and stops gracefully; SIGHUP re-reads the config. " +
			"Undelivered messages stay in the outbox for the next start.",
		examples: []string{"sectriage run -config /etc/sectriage/sectriage.toml"}},
	{name: "check", synopsis: "-config FILE", summary: "validate config, database, keys, listeners and chat accounts",
		detail: "Prints one line per finding (ok, warning, error) and exits 1 if any is an error: " +
			"also what would fail silently, such as nobody being told about new reports. Changes nothing.",
		examples: []string{"sectriage check -config /etc/sectriage/sectriage.toml"}},
	{name: "ingest", synopsis: "-config FILE [-v] < MESSAGE", summary: "take one report from an MTA (exit 75: retry later)",
		detail: "Reads one mail on standard input and opens an incident or quarantines it. " +
			"Every failure exits 75 (EX_TEMPFAIL), so the MTA keeps the message and retries. " +
			"The running daemon stores it over its control socket if there is one, else this process does; -v says which.",
		examples: []string{"sectriage ingest -config /etc/sectriage/sectriage.toml < report.eml"}},
	{name: "cmd", synopsis: "-config FILE -as PERSON [-v] -- COMMAND [ARGS...]", summary: "run one command as PERSON and print the reply",
		detail: "The same commands and permissions as in chat. The command is either shell words or one quoted command line. " +
			"The running daemon runs it over its control socket if there is one, else this process does; -v says which.",
		examples: []string{
			"sectriage cmd -config sectriage.toml -as alice -- list",
			"sectriage cmd -config sectriage.toml -as alice -- claim 1",
			"sectriage cmd -config sectriage.toml -as alice -- 'note 1 \"seen on 5.8 too\"'",
		}},
	{name: "backup", synopsis: "-config FILE OUT.db", summary: "consistent copy of the database, safe while running",
		detail:   "Writes a checked copy (integrity_check) of the database to OUT.db; restoring is a file copy.",
		examples: []string{"sectriage backup -config sectriage.toml /var/backups/sectriage-$(date +%F).db"}},
	{name: "mattermost register", synopsis: "-config FILE", summary: "create or update the Mattermost slash command",
		detail:   "Creates or updates the /sec slash command and writes its token to [mattermost] slash_token_file.",
		examples: []string{"sectriage mattermost register -config sectriage.toml"}},
	{name: "mattermost accept-user", synopsis: "-config FILE USERNAME", summary: "trust the account the Mattermost username names now",
		detail:   "Forgets the account a username was pinned to, after a legitimate rename or re-creation.",
		examples: []string{"sectriage mattermost accept-user -config sectriage.toml alice"}},
	{name: "export", synopsis: "-config FILE [-format csv|json] [-since DATE] [-sig SIG]", summary: "response-time statistics for reports",
		detail: "One row per incident (CSV): when it was created, acknowledged, triaged and fixed, and how long each took, from its timeline. " +
			"JSON adds the summary the stats command shows: median and 90th percentile by SIG and severity, open incidents per person.",
		examples: []string{
			"sectriage export -config sectriage.toml -since 2026-01-01 > 2026.csv",
			"sectriage export -config sectriage.toml -format json -sig core",
		}},
	{name: "systemd-unit", synopsis: "-config FILE [-binary PATH] [-check]", summary: "print the systemd unit for this config",
		detail: "The unit loads as credentials the secret files of the platforms the config sets up, and only those. " +
			"With -check it prints the systemd-run command that runs check as the service would (its user, state directory and credentials), before the first start.",
		examples: []string{
			"sectriage systemd-unit -config /etc/sectriage/sectriage.toml > /etc/systemd/system/sectriage.service",
			"$(sectriage systemd-unit -config /etc/sectriage/sectriage.toml -check)",
		}},
	{name: "demo", synopsis: "", summary: "local demo: no accounts, no config",
		detail: "A temporary desk with a sample encrypted report. Commands come from standard input; " +
			"`as PERSON` plays another member of the team, `advance 49h` moves the clock.",
		examples: []string{"sectriage demo", "printf 'list\\nclaim 1\\nas bob\\nshow 1\\n' | sectriage demo"}},
	{name: "version", synopsis: "", summary: "print the version, VCS revision and build time (also -v, --version)",
		examples: []string{"sectriage version"}},
	{name: "help", synopsis: "[SUBCOMMAND]", summary: "this list, or one subcommand's help (also -h, --help)",
		examples: []string{"sectriage help cmd", "sectriage cmd -h"}},
}

func lookupSubcommand(name string) (subcommand, bool) {
	for _, s := range subcommands {
		if s.name == name {
			return s, true
		}
	}
	return subcommand{}, false
}

// usage lists every subcommand once.
func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage:")
	for _, s := range subcommands {
		line := strings.TrimSpace(s.name + " " + s.synopsis)
		if len(line) > 44 {
			fmt.Fprintf(w, "  sectriage %s\n  %-54s %s\n", line, "", s.summary)
			continue
		}
		fmt.Fprintf(w, "  sectriage %-44s %s\n", line, s.summary)
	}
	fmt.Fprintln(w, "\nRun 'sectriage help SUBCOMMAND' or 'sectriage SUBCOMMAND -h' for its flags and examples.")
}

// printHelp is a subcommand's help: usage, what it does, flags, examples.
func printHelp(w io.Writer, s subcommand, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: sectriage %s\n\n", strings.TrimSpace(s.name+" "+s.synopsis))
	fmt.Fprintln(w, strings.ToUpper(s.summary[:1])+s.summary[1:]+".")
	if s.detail != "" {
		fmt.Fprintln(w, s.detail)
	}
	if fs != nil {
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintln(w, "\nFlags:")
			fs.SetOutput(w)
			fs.PrintDefaults()
		}
	}
	if len(s.examples) > 0 {
		fmt.Fprintln(w, "\nExamples:")
		for _, e := range s.examples {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

// newFlags is a subcommand's flag set with the -config flag every
// subcommand that reads the config shares.
func newFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return fs, fs.String("config", "sectriage.toml", "the config `FILE`")
}

// parseFlags parses a subcommand's flags. -h, -help and --help print its
// help to stdout: done is true with exit 0. A bad flag prints the error
// and the usage line to stderr: done with exit 2 (usageCode for ingest,
// whose MTA must retry instead).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, usageCode int) (code int, done bool) {
	s, _ := lookupSubcommand(fs.Name())
	fs.SetOutput(stderr)
	fs.Usage = func() {} // help or a short usage is printed below
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout, s, fs)
		return exitOK, true
	case err != nil:
		usageError(stderr, s)
		return usageCode, true
	}
	return 0, false
}

// usageError prints a subcommand's usage line and where its help is.
func usageError(w io.Writer, s subcommand) {
	fmt.Fprintf(w, "usage: sectriage %s\nRun 'sectriage %s -h' for help.\n", strings.TrimSpace(s.name+" "+s.synopsis), s.name)
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// mustSubcommand is lookupSubcommand for names this file declares.
func mustSubcommand(name string) subcommand {
	s, ok := lookupSubcommand(name)
	if !ok {
		panic("sectriage: no subcommand " + name + " in the table")
	}
	return s
}
