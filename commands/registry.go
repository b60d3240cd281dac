// Package commands is the one command grammar of sectriage: every platform
// hands it a line and an actor and renders the reply it returns. It knows
// nothing about Mattermost, IRC or terminals.
package commands

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// Request is one command to run.
type Request struct {
	Actor bot.Actor
	// Rule is the command's Permission: handlers pass it to the service,
	// which checks it inside the transaction that makes the change.
	Rule bot.Rule
	Name string   // the command as typed
	Args []string // the words after it
	// Private is true when the reply reaches only team members: a
	// verified private channel, a DM, an ephemeral reply, the console.
	// Report content (titles, bodies) is shown only then.
	Private bool
}

// Rest joins the arguments from index i on: free text such as a note.
func (r *Request) Rest(i int) string {
	if i >= len(r.Args) {
		return ""
	}
	return strings.Join(r.Args[i:], " ")
}

// Reply is what a command answers.
type Reply struct {
	Text bot.Text
	// Failed is set when the command was refused or failed; Kind says why.
	Failed bool
	Kind   bot.Kind
	// Confidential replies show report content: adapters send them only
	// where Request.Private held.
	Confidential bool
	// Unchanged: the command succeeded and changed nothing, so what shows
	// the incident elsewhere (its post with buttons) need not be redrawn.
	// Left false whenever a change is possible.
	Unchanged bool
}

// Handler runs a command.
type Handler interface {
	ServeCommand(ctx context.Context, req *Request) (Reply, error)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, req *Request) (Reply, error)

func (f HandlerFunc) ServeCommand(ctx context.Context, req *Request) (Reply, error) {
	return f(ctx, req)
}

// Command declares a command once; help text, IRC usage and Mattermost
// autocomplete are all generated from it.
type Command struct {
	Name    string
	Aliases []string
	Args    string // usage of the arguments: "<id> <reason>"
	Summary string // one line
	Help    string // more, optional
	// Permission is who may run it: the rule the service enforces, and
	// what help says. A command must declare one.
	Permission bot.Rule
	MinArgs    int
	MaxArgs    int // -1: any number (free text)
	Handler    Handler
}

// Usage is "name args".
func (c *Command) Usage() string { return strings.TrimSpace(c.Name + " " + c.Args) }

// Registry holds the commands. It is a value: build one with New (or
// NewRegistry and Add) and pass it to every adapter.
type Registry struct {
	byName map[string]*Command
	list   []*Command
	log    *slog.Logger
}

// NewRegistry makes an empty registry.
func NewRegistry(log *slog.Logger) *Registry {
	return &Registry{byName: map[string]*Command{}, log: log}
}

// Add declares a command. A name or alias used twice is a programming
// error, reported when the registry is built.
func (r *Registry) Add(c Command) error {
	if !c.Permission.Defined() {
		return fmt.Errorf("command %q declares no permission", c.Name)
	}
	for _, n := range append([]string{c.Name}, c.Aliases...) {
		if _, dup := r.byName[n]; dup {
			return fmt.Errorf("command %q declared twice", n)
		}
	}
	cmd := c
	for _, n := range append([]string{c.Name}, c.Aliases...) {
		r.byName[n] = &cmd
	}
	r.list = append(r.list, &cmd)
	return nil
}

// Lookup finds a command by name or alias.
func (r *Registry) Lookup(name string) *Command { return r.byName[strings.ToLower(name)] }

// Commands lists the commands sorted by name.
func (r *Registry) Commands() []*Command {
	out := append([]*Command(nil), r.list...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// OutsiderRefusal is all an outsider ever hears: no help, no hint of what
// exists.
const OutsiderRefusal = "Sorry, sectriage takes commands only from members of the security team."

// Run parses and runs one command line (already normalised, see
// Normalize). It never fails: problems become a failed Reply whose text
// says what was wrong.
func (r *Registry) Run(ctx context.Context, actor bot.Actor, line string, private bool) (reply Reply) {
	if actor.Person == nil {
		return failed(bot.KindForbidden, OutsiderRefusal)
	}
	words, err := Split(line)
	if err != nil {
		return failed(bot.KindInvalid, "Could not read the command: "+err.Error()+".")
	}
	if len(words) == 0 {
		return failed(bot.KindInvalid, "Empty command; try help.")
	}
	cmd := r.Lookup(words[0])
	if cmd == nil {
		return failed(bot.KindInvalid, fmt.Sprintf("Unknown command %q; try help.", bot.EscapeControl(words[0], false)))
	}
	req := &Request{Actor: actor, Rule: cmd.Permission, Name: words[0], Args: words[1:], Private: private}
	if n := len(req.Args); n < cmd.MinArgs || (cmd.MaxArgs >= 0 && n > cmd.MaxArgs) {
		return failed(bot.KindInvalid, "Usage: "+cmd.Usage())
	}
	// Rules that depend on the actor alone refuse here; the others are
	// checked by the service against the incident or roster.
	if err := cmd.Permission.Precheck(actor, "run "+cmd.Name); err != nil {
		return failed(bot.KindOf(err), bot.UserMessage(err))
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("command panicked", "command", cmd.Name, "actor", actor.Name(), "panic", p)
			reply = failed(bot.KindInternal, bot.InternalMessage)
		}
	}()
	reply, err = cmd.Handler.ServeCommand(ctx, req)
	if err != nil {
		kind := bot.KindOf(err)
		if kind == bot.KindInternal {
			// Logged once, here, in full; the user sees only that it failed.
			r.log.Error("command failed", "command", cmd.Name, "actor", actor.Name(), "platform", actor.Platform, "err", err)
		}
		return failed(kind, bot.UserMessage(err))
	}
	return reply
}

func failed(kind bot.Kind, msg string) Reply {
	return Reply{Text: bot.PlainText(msg), Failed: true, Kind: kind}
}

func ok(format string, args ...any) Reply {
	return Reply{Text: bot.PlainText(fmt.Sprintf(format, args...))}
}

// same is ok for a command that changed nothing.
func same(format string, args ...any) Reply {
	r := ok(format, args...)
	r.Unchanged = true
	return r
}

// ForIncident makes a line typed in an incident's own channel act on that
// incident: a command whose first argument is the incident, typed without
// one, gets it ("ack" → "ack 12", "severity high" → "severity 12 high").
// An explicit id is kept ("show 7" in SEC-12's channel shows SEC-7).
func (r *Registry) ForIncident(line string, id int64) string {
	words, err := Split(line)
	if err != nil || len(words) == 0 {
		return line
	}
	cmd := r.Lookup(words[0])
	if cmd == nil || !strings.HasPrefix(cmd.Args, "<id>") {
		return line
	}
	if len(words) > 1 {
		if _, err := bot.ParseIncidentID(words[1]); err == nil {
			return line
		}
	}
	name, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	return strings.TrimSpace(name + " " + strconv.FormatInt(id, 10) + " " + strings.TrimSpace(rest))
}
