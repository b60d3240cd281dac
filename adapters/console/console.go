// Package console is a terminal chat: it reads command lines, runs them
// through the shared command registry as one person, and prints replies
// and the messages the bot sends. `sectriage demo` and tests use it.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// Runner runs one command line; *commands.Registry is one.
type Runner interface {
	Run(ctx context.Context, actor bot.Actor, line string, private bool) commands.Reply
}

// Console is the terminal chat.
type Console struct {
	runner      Runner
	actor       bot.Actor
	in          io.Reader
	out         io.Writer
	mu          sync.Mutex // Deliver may run beside Run
	interactive bool
	failures    int
	// AfterCommand runs after each command, before the next prompt (the
	// demo delivers the outbox there, so output stays in order).
	AfterCommand func(ctx context.Context)
}

// New makes a console acting as actor. interactive selects a prompt;
// otherwise each command is echoed before its reply, like a transcript.
func New(runner Runner, actor bot.Actor, in io.Reader, out io.Writer, interactive bool) *Console {
	return &Console{runner: runner, actor: actor, in: in, out: out, interactive: interactive}
}

// Run reads commands until end of input or ctx ends.
func (c *Console) Run(ctx context.Context) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(c.in)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
		close(lines)
	}()
	for {
		c.prompt()
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				if c.interactive {
					c.print("\n")
				}
				return <-errc
			}
			c.handle(ctx, line)
		}
	}
}

// Actor is the person the console acts as now.
func (c *Console) Actor() bot.Actor {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.actor
}

// SetActor makes the console act as another person from the next command
// on: the demo's `as` plays other members of the team.
func (c *Console) SetActor(a bot.Actor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.actor = a
}

// Failures counts commands that were refused or failed.
func (c *Console) Failures() int { return c.failures }

func (c *Console) prompt() {
	if c.interactive {
		c.print(c.Actor().Name() + "> ")
	}
}

func (c *Console) handle(ctx context.Context, raw string) {
	line := strings.TrimSpace(raw)
	if line == "" || strings.HasPrefix(line, "#") {
		return
	}
	if !c.interactive {
		c.print("> " + line + "\n")
	}
	reply := c.runner.Run(ctx, c.Actor(), line, true)
	text := strings.TrimRight(bot.RenderPlain(reply.Text), "\n")
	if reply.Failed {
		c.failures++
		text = "error: " + text
	}
	c.print(text + "\n")
	if c.AfterCommand != nil {
		c.AfterCommand(ctx)
	}
}

// Deliver prints a message the bot sends, labelled with where it goes.
func (c *Console) Deliver(ctx context.Context, m bot.OutboxMessage) error {
	var to string
	switch {
	case m.Dest.Person != "":
		to = "to @" + m.Dest.Person
	case m.Dest.Channel == bot.ChannelIncident && m.IncidentID != 0:
		to = "#triage, " + bot.FormatID(m.IncidentID)
	default:
		to = "#" + m.Dest.Channel
	}
	body := strings.TrimRight(bot.RenderPlain(m.Text), "\n")
	body = strings.ReplaceAll(body, "\n", "\n    ")
	c.print(fmt.Sprintf("  [%s] %s\n", to, body))
	return nil
}

func (c *Console) print(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.out, s)
}
