package health

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadiness(t *testing.T) {
	var logs bytes.Buffer
	r := NewReadiness(50*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	var broken atomic.Bool
	r.Add(Check{Name: "database", Run: func(ctx context.Context) error { return nil }})
	r.Add(Check{Name: "irc", Run: func(ctx context.Context) error {
		if broken.Load() {
			return errors.New("not joined\r\nto the channel")
		}
		return nil
	}})
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	if code, body := get(); code != http.StatusOK || body != "ok   database\nok   irc\n" {
		t.Fatalf("%d %q", code, body)
	}
	broken.Store(true)
	get()
	code, body := get()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "fail irc: not joined  to the channel\n") {
		t.Fatalf("%d %q", code, body)
	}
	if n := strings.Count(logs.String(), "not ready"); n != 1 {
		t.Errorf("a lasting failure is logged once, not %d times:\n%s", n, logs.String())
	}
	broken.Store(false)
	if code, _ := get(); code != http.StatusOK || !strings.Contains(logs.String(), "ready again") {
		t.Fatalf("%d\n%s", code, logs.String())
	}

	release := make(chan struct{})
	defer close(release)
	r.Add(Check{Name: "stuck", Run: func(ctx context.Context) error { <-release; return nil }}) // ignores its context
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "fail stuck: no answer within 50ms") {
		t.Fatalf("%d %q", code, body)
	}
}

// TestBare: the public /readyz has the same status and no detail.
func TestBare(t *testing.T) {
	r := NewReadiness(50*time.Millisecond, slog.New(slog.DiscardHandler))
	var broken atomic.Bool
	r.Add(Check{Name: "irc", Run: func(ctx context.Context) error {
		if broken.Load() {
			return errors.New("not joined to #secret-channel")
		}
		return nil
	}})
	for _, b := range []bool{false, true} {
		broken.Store(b)
		rec := httptest.NewRecorder()
		r.Bare().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		want, wantBody := http.StatusOK, "ready\n"
		if b {
			want, wantBody = http.StatusServiceUnavailable, "not ready\n"
		}
		if rec.Code != want || rec.Body.String() != wantBody {
			t.Errorf("broken %v: %d %q", b, rec.Code, rec.Body.String())
		}
	}
}
