package mattermost

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// Tests of the barrier a slash command starts when its request arrives
// (barrier.go, slash.go).

// hookRunner calls before ahead of each command it runs.
type hookRunner struct {
	Runner
	before func()
}

func (h hookRunner) Run(ctx context.Context, a bot.Actor, line string, private bool) commands.Reply {
	h.before()
	return h.Runner.Run(ctx, a, line, private)
}

// clockService gives the adapter the test's clock.
type clockService struct {
	Service
	clock bot.Clock
}

func (s clockService) Clock() bot.Clock { return s.clock }

// newEarlyWorld is a fake world on the adapter clock clk where alice
// holds an incident already, so that her "/sec claim" answers in the
// channel and sets nothing off (no refresh, no outbox message, so no
// barrier but the answer's), and the triage channel's passing verdict is
// kept, with no barrier saved since.
func newEarlyWorld(t *testing.T, clk bot.Clock) (*fakeWorld, string) {
	t.Helper()
	w := newFakeWorld(t, func(o *Options) { o.SlashBudget = 10 * time.Second },
		func(w *fakeWorld) { w.a.svc = clockService{Service: w.a.svc, clock: clk} })
	w.ready(t)
	waitHello(t, w.a)
	inc := w.c.open(t, "Early barrier")
	w.c.waitDelivered(t, bot.MessageNewIncident, nil)
	cli := bot.Actor{Person: w.c.svc.Settings().People.ByName("alice"), Platform: bot.PlatformCLI}
	if r := w.c.reg.Run(ctxT(t), cli, fmt.Sprintf("claim %d", inc.ID), true); r.Failed {
		t.Fatalf("claim: %v", r.Text)
	}
	w.c.waitOutboxEmpty(t)
	keepVerdict(t, w)
	drainPrefs(w.f)
	return w, fmt.Sprintf("claim %d", inc.ID)
}

// keepVerdict checks the triage channel until its verdict is kept.
func keepVerdict(t *testing.T, w *fakeWorld) {
	t.Helper()
	c := mustConn(t, w.a)
	k := verdictKey{channel: w.triage, sensitive: true}
	for deadline := time.Now().Add(10 * time.Second); w.a.verdicts.lookup(k, c) == nil; time.Sleep(time.Millisecond) {
		if _, err := w.a.verifyChannel(ctxT(t), c, w.triage, true); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no verdict kept after a passing check")
		}
	}
}

// lastBack is the number of the latest barrier that came back.
func (fs *fences) lastBack() uint64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.last == nil {
		return 0
	}
	return fs.last.seq
}

// TestFakeSlashBarrierBesideTheCommand: a claim's barrier is saved while
// the command still runs (the command waits to see it saved), and a quick
// command's answer uses that one barrier: one preference save, no REST
// check. A command slower than quickCommand, by the adapter's clock, gets
// a second barrier, begun after it ran. A command that fails costs its
// early barrier and nothing more: no check, an answer to alice alone.
func TestFakeSlashBarrierBesideTheCommand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		failed bool
		took   time.Duration // the command's run, by the adapter's clock
		saves  int
	}{
		{"quick", false, 0, 1},
		{"at the bound", false, quickCommand, 1},
		{"slower than the bound", false, quickCommand + time.Millisecond, 2},
		{"failed", true, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := bot.NewManualClock(time.Unix(1_800_000_000, 0))
			w, claim := newEarlyWorld(t, clk)
			type ran struct {
				early bool   // a barrier was saved before the command ended
				mark  uint64 // fences.mark as it ended
			}
			ranc := make(chan ran, 1)
			w.a.runner = hookRunner{Runner: w.a.runner, before: func() {
				var r ran
				select {
				case <-w.f.prefs:
					r.early = true
				case <-time.After(5 * time.Second):
				}
				clk.Advance(tc.took)
				r.mark = w.a.fences.mark()
				ranc <- r
			}}
			want, text := model.CommandResponseTypeInChannel, "You already hold"
			if tc.failed {
				claim, want, text = "claim 999", model.CommandResponseTypeEphemeral, "does not exist"
			}
			gets := w.f.channelGets(w.triage)
			_, resp := w.slash(t, w.slashForm(w.alice, claim), "")
			r := <-ranc
			if !r.early {
				t.Fatal("no barrier was saved while the command ran")
			}
			if resp == nil || resp.ResponseType != want || !strings.Contains(resp.Text, text) {
				t.Fatalf("answer %+v, want %s with %q", resp, want, text)
			}
			if n := w.f.channelGets(w.triage) - gets; n != 0 {
				t.Errorf("the channel was fetched %d times: the kept verdict was not used", n)
			}
			if n := 1 + drainPrefs(w.f); n != tc.saves {
				t.Errorf("%d barriers saved for one claim, want %d", n, tc.saves)
			}
			if tc.saves == 2 && w.a.fences.lastBack() <= r.mark {
				t.Error("the slow command's answer used a barrier begun before it ended")
			}
		})
	}
}

// slashAsync sends a slash command and returns its answer later.
func (w *fakeWorld) slashAsync(form url.Values) <-chan *model.CommandResponse {
	out := make(chan *model.CommandResponse, 1)
	go func() {
		var resp *model.CommandResponse
		defer func() { out <- resp }()
		res, err := http.PostForm(w.listener.URL+CommandPath, form)
		if err != nil {
			return
		}
		defer res.Body.Close()
		if res.StatusCode == http.StatusOK {
			resp, _ = model.CommandResponseFromHTTPBody(res.Header.Get("Content-Type"), res.Body)
		}
	}()
	return out
}

// addOutsider puts a new user, on no team list, in the triage channel and
// sends the server's user_added (held while the fake holds events).
func (w *fakeWorld) addOutsider(name string) {
	id := w.f.addUser(name, false)
	w.f.mu.Lock()
	w.f.channels[w.triage].members[id] = true
	w.f.mu.Unlock()
	ev := model.NewWebSocketEvent(model.WebsocketEventUserAdded, "", w.triage, "", nil, "")
	ev.Add("user_id", id)
	ev.Add("team_id", w.f.team.Id)
	w.f.send(ev)
}

// TestFakeSlashSeesAMemberAddedBeforeItArrived: an outsider is added and
// the server's event is still queued on its hub when the claim arrives;
// the early barrier's event queues behind it, so the kept verdict is
// dropped before the answer's check may use it: the channel is checked
// again, fails, and the answer goes to alice alone.
func TestFakeSlashSeesAMemberAddedBeforeItArrived(t *testing.T) {
	w, claim := newEarlyWorld(t, bot.SystemClock{})
	w.f.hold()
	defer w.f.release()
	w.addOutsider("carol")
	gets := w.f.channelGets(w.triage)
	answer := w.slashAsync(w.slashForm(w.alice, claim))
	select {
	case <-w.f.prefs: // the early barrier, behind user_added
	case <-time.After(5 * time.Second):
		t.Fatal("no barrier saved for the claim")
	}
	w.f.release()
	resp := <-answer
	if resp == nil || resp.ResponseType != model.CommandResponseTypeEphemeral {
		t.Fatalf("answer %+v, want it to alice alone", resp)
	}
	if strings.Contains(resp.Text, "/sec") {
		t.Errorf("the ephemeral answer echoes the command: %q", resp.Text)
	}
	if n := w.f.channelGets(w.triage) - gets; n < 1 {
		t.Error("the channel was not checked again")
	}
}

// TestFakeSlashMemberAddedWhileTheCommandRan: the answer is proven as of
// the request's arrival. An outsider added after the early barrier began,
// while the command runs, is seen if the server's event reaches the bot
// before the answer is rendered: it drops the kept verdict (its
// generation), the channel is checked again and fails. If the event comes
// only after, the answer goes to the channel: the change came after the
// point the answer is proven as of, as a change made after any post's
// barrier began does; the next check sees it.
func TestFakeSlashMemberAddedWhileTheCommandRan(t *testing.T) {
	for _, tc := range []struct {
		name      string
		eventLate bool
		want      string
	}{
		{"event before the answer", false, model.CommandResponseTypeEphemeral},
		{"event after the answer", true, model.CommandResponseTypeInChannel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, claim := newEarlyWorld(t, bot.SystemClock{})
			c := mustConn(t, w.a)
			k := verdictKey{channel: w.triage, sensitive: true}
			arrived := w.a.fences.mark()
			done := make(chan string, 1)
			w.a.runner = hookRunner{Runner: w.a.runner, before: func() {
				done <- func() string {
					select {
					case <-w.f.prefs:
					case <-time.After(5 * time.Second):
						return "no barrier saved while the command ran"
					}
					if tc.eventLate {
						// The early barrier comes back first; the
						// member's event waits on the hub.
						for deadline := time.Now().Add(5 * time.Second); w.a.fences.lastBack() <= arrived; time.Sleep(time.Millisecond) {
							if time.Now().After(deadline) {
								return "the early barrier did not come back"
							}
						}
						w.f.hold()
						w.addOutsider("carol")
						return ""
					}
					w.addOutsider("carol")
					for deadline := time.Now().Add(5 * time.Second); w.a.verdicts.lookup(k, c) != nil; time.Sleep(time.Millisecond) {
						if time.Now().After(deadline) {
							return "user_added did not drop the verdict"
						}
					}
					return ""
				}()
			}}
			defer w.f.release()
			_, resp := w.slash(t, w.slashForm(w.alice, claim), "")
			if msg := <-done; msg != "" {
				t.Fatal(msg)
			}
			if resp == nil || resp.ResponseType != tc.want {
				t.Fatalf("answer %+v, want %s", resp, tc.want)
			}
			w.f.release()
			if _, err := w.a.verifyChannel(ctxT(t), c, w.triage, true); !bot.IsHeld(err) || !strings.Contains(err.Error(), "carol") {
				t.Fatalf("the next check: %v, want it held naming carol", err)
			}
		})
	}
}
