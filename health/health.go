// Package health answers the two questions an operator's probes ask:
// /healthz, is the process alive (it answers HTTP), and /readyz, can it do
// its job right now (every check passes: the database takes writes, each
// configured chat and mail connection is up, the outbox is moving).
package health

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Check is one readiness condition. Run returns nil when it holds, else an
// error whose text says what is wrong; it is shown on /readyz, so it must
// carry no secret and no report content.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Result is the outcome of one check.
type Result struct {
	Name string
	Err  error
}

// Readiness runs its checks for /readyz.
type Readiness struct {
	log     *slog.Logger
	timeout time.Duration

	mu     sync.Mutex
	checks []Check
	last   map[string]string // the last outcome of each check, to log changes only
}

// NewReadiness makes an empty set of checks; each gets timeout to answer.
func NewReadiness(timeout time.Duration, log *slog.Logger) *Readiness {
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	return &Readiness{log: log.With("component", "health"), timeout: timeout, last: map[string]string{}}
}

// Add adds a check.
func (r *Readiness) Add(c Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, c)
}

// Check runs every check at once and returns their results by name. A
// change of a check's outcome is logged once, not at every probe.
func (r *Readiness) Check(ctx context.Context) []Result {
	r.mu.Lock()
	checks := append([]Check(nil), r.checks...)
	r.mu.Unlock()
	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = Result{Name: c.Name, Err: run(ctx, c, r.timeout)}
		}()
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	r.logChanges(results)
	return results
}

func run(ctx context.Context, c Check, timeout time.Duration) (err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the check panicked")
		}
	}()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", timeout)
	}
}

func (r *Readiness) logChanges(results []Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range results {
		now := "ok"
		if res.Err != nil {
			now = res.Err.Error()
		}
		before, seen := r.last[res.Name]
		r.last[res.Name] = now
		switch {
		case before == now || (!seen && now == "ok"):
		case now == "ok":
			r.log.Info("ready again", "check", res.Name)
		default:
			r.log.Warn("not ready", "check", res.Name, "reason", now)
		}
	}
}

// ServeHTTP is /readyz: 200 when every check passes, else 503, with one
// line per check either way.
func (r *Readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	results := r.Check(req.Context())
	var b strings.Builder
	status := http.StatusOK
	for _, res := range results {
		if res.Err != nil {
			status = http.StatusServiceUnavailable
			fmt.Fprintf(&b, "fail %s: %s\n", res.Name, oneLine(res.Err.Error()))
		} else {
			fmt.Fprintf(&b, "ok   %s\n", res.Name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

// Bare is /readyz for whoever may not see the details (the public
// listener): the same 200 or 503, and one word. Which check failed, and
// why, says how the desk is reached and what it is missing.
func (r *Readiness) Bare() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		status, word := http.StatusOK, "ready"
		for _, res := range r.Check(req.Context()) {
			if res.Err != nil {
				status, word = http.StatusServiceUnavailable, "not ready"
				break
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		fmt.Fprintln(w, word)
	})
}

// Alive is /healthz: the process runs and serves HTTP. It checks nothing
// else, so a restart is never triggered by a chat server's outage.
func Alive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
