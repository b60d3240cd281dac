// Package browsertest starts Debian's chromium for the tests that load
// sectriage's pages: headless, phone-sized, on a closed network, and
// listening for everything the browser complains about.
package browsertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sectriage/sectriage/internal/testenv"
)

// Phone is the viewport the pages are tested at.
const PhoneWidth, PhoneHeight = 412, 915

// Problems collects what the browser complains about: console errors and
// warnings, exceptions, CSP and other issues, failed loads and, with
// HTTPErrors, responses of 400 and above.
type Problems struct {
	HTTPErrors bool

	mu   sync.Mutex
	list []string
}

// Add records a problem.
func (p *Problems) Add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// Take returns the problems seen since the last Take.
func (p *Problems) Take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.list
	p.list = nil
	return l
}

// Listen is the chromedp listener that feeds p.
func (p *Problems) Listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p.Add("console %s: %s", ev.Type, strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		p.Add("exception: %s %v", ev.ExceptionDetails.Text, ev.ExceptionDetails.Exception)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
			p.Add("log %s/%s: %s (%s)", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
		}
	case *audits.EventIssueAdded:
		p.Add("issue %s", ev.Issue.Code)
	case *network.EventLoadingFailed:
		p.Add("load failed: %s %s", ev.ErrorText, ev.BlockedReason)
	case *network.EventResponseReceived:
		if p.HTTPErrors && ev.Response.Status >= 400 {
			p.Add("HTTP %d for %s", ev.Response.Status, ev.Response.URL)
		}
	}
}

// Start launches chromium for t (skipped locally, a failure under CI,
// when it is missing) and returns a tab that lives until t ends, with
// runtime and audit events on, so seen hears of every problem; scripts
// false runs the pages with JavaScript disabled.
func Start(t testing.TB, seen *Problems, scripts bool) context.Context {
	t.Helper()
	chromium := testenv.LookPath(t, "chromium", "chromium (scripts/deps/browser.sh)")
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// The network is closed: no background connections, or chromium
		// makes many, all refused.
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(PhoneWidth, PhoneHeight),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(seen.Listen))
	t.Cleanup(cancel)
	// The first Do starts the browser.
	if err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, runtime.Enable, cdp.Empty{}); err != nil {
				return err
			}
			if _, err := cdp.Call(ctx, tg, audits.Enable, cdp.Empty{}); err != nil {
				return err
			}
			if scripts {
				return nil
			}
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.EmulateViewport(PhoneWidth, PhoneHeight),
	); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}
