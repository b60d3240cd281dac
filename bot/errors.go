package bot

import (
	"errors"
	"fmt"
)

// Kind classifies an Error so that every platform can render it the same way.
type Kind string

const (
	KindNotFound  Kind = "not found"
	KindForbidden Kind = "forbidden"
	KindInvalid   Kind = "invalid"
	KindConflict  Kind = "conflict"
	KindInternal  Kind = "internal"
	// KindUnavailable: the bot cannot do it now (its disk is full, say);
	// nothing was changed and the same request may work later.
	KindUnavailable Kind = "unavailable"
)

// Error is the one error type users see. Msg is safe to show to a team
// member: it never holds report content, secrets or internal details.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf makes an Error whose message is formatted from trusted values only.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err: the Kind of a wrapped *Error, or
// KindInternal for anything else.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// InternalMessage is what users see for any error that is not an *Error.
const InternalMessage = "internal error; the details are in the bot's log"

// UserMessage returns the text a user may see for err. Errors that are not a
// *Error are hidden behind InternalMessage; the caller logs them in full.
func UserMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal {
		return e.Msg
	}
	return InternalMessage
}
