package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/control"
)

// controlSocket is where the daemon's control socket is: beside the
// database, in the state directory.
func controlSocket(cfg *config.Config) string {
	return control.SocketPath(cfg.Resolve(cfg.Storage.Path))
}

// listenControl opens the daemon's control socket. Only a live daemon on
// it is fatal; without a socket (a path too long for one, say) ingest and
// cmd still work, each in its own process, so the daemon runs on.
func listenControl(cfg *config.Config, a *app, log *slog.Logger) (*control.Server, error) {
	group := -1
	if name := cfg.Control.Group; name != "" {
		g, err := user.LookupGroup(name)
		if err != nil {
			return nil, fmt.Errorf("[control] group: %w", err)
		}
		if group, err = strconv.Atoi(g.Gid); err != nil {
			return nil, fmt.Errorf("[control] group %s: gid %q", name, g.Gid)
		}
	}
	s, err := control.Listen(controlSocket(cfg), daemonControl{a}, control.Options{
		Allow: control.NewAllow(os.Getuid(), group), Group: group, MaxMessage: int64(cfg.Intake.MaxMessageSize),
	}, log)
	if err != nil && !errors.Is(err, control.ErrInUse) {
		log.Warn("no control socket: ingest and cmd will run in their own processes", "err", err)
		return nil, nil
	}
	return s, err
}

// daemonControl is what the daemon does for control socket clients: the
// same as `sectriage ingest` and `sectriage cmd` do in their own process.
type daemonControl struct{ a *app }

func (d daemonControl) Ingest(ctx context.Context, sub bot.Submission) (bot.IntakeResult, error) {
	if d.a.intake == nil {
		return bot.IntakeResult{}, errors.New("no team key ([keys] team_key_file): reports cannot be read")
	}
	return d.a.intake.intake.Receive(ctx, sub)
}

func (d daemonControl) Command(ctx context.Context, as, line string) (string, bool) {
	return runCommand(ctx, d.a, as, line)
}

// runCommand runs a command line as the named person; an undeclared name
// is an outsider, refused like any other.
func runCommand(ctx context.Context, a *app, as, line string) (text string, failed bool) {
	actor := bot.Actor{Person: a.svc.Settings().People.ByName(as), Platform: bot.PlatformCLI}
	reply := a.reg.Run(ctx, actor, line, true)
	return strings.TrimRight(bot.RenderPlain(reply.Text), "\n"), reply.Failed
}

// viaDaemon reports, with -v, who does the work: the daemon, or this
// process because none answers.
func viaDaemon(err error, verbose bool, socket string, stderr io.Writer) (handled bool) {
	if errors.Is(err, control.ErrNoDaemon) {
		if verbose {
			fmt.Fprintf(stderr, "sectriage: %v; doing it in this process\n", err)
		}
		return false
	}
	if verbose {
		fmt.Fprintf(stderr, "sectriage: handed to the daemon at %s\n", socket)
	}
	return true
}
