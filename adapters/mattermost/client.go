package mattermost

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// APIError is a failed call to the Mattermost API.
type APIError struct {
	What   string // what was being done: "posting to channel x"
	Status int    // HTTP status; 0 when the server was not reached
	Err    error
}

func (e *APIError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s: server unreachable: %v", e.What, e.Err)
	}
	return fmt.Sprintf("%s: HTTP %d: %v", e.What, e.Status, e.Err)
}

func (e *APIError) Unwrap() error { return e.Err }

// apiErr wraps the result of a Client4 call; nil when it succeeded.
func apiErr(what string, resp *model.Response, err error) error {
	if err == nil {
		return nil
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	return &APIError{What: what, Status: status, Err: err}
}

// statusOf returns the HTTP status of a failed call, 0 if none.
func statusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// transient reports whether retrying later may succeed: the server was
// unreachable, failed, was restarting, rate-limited us, or rejected the
// token (which the operator can fix without losing the queue).
func transient(err error) bool {
	switch s := statusOf(err); {
	case s == 0, s >= 500, s == http.StatusUnauthorized, s == http.StatusRequestTimeout, s == http.StatusTooManyRequests:
		return true
	default:
		return false
	}
}

// forOutbox turns an error into what the outbox understands: an ordinary
// error is retried with backoff, a permanent one gives up on the message.
// A 4xx other than the transient ones cannot succeed by retrying (no
// access to the channel, post refused), and a retried message would hold
// up every later one of this platform.
func forOutbox(err error) error {
	if err == nil {
		return nil
	}
	var perm *bot.PermanentError
	if errors.As(err, &perm) {
		return err
	}
	var e *APIError
	if errors.As(err, &e) && !transient(err) {
		return bot.Permanent(err)
	}
	return err
}

// configError is a problem the operator must fix in Mattermost or the
// config: retrying cannot help, so the daemon stops with it at start.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}
