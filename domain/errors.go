package domain

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers that decide on it; adapters map codes
// to protocol errors (HTTP status, socket error frame) in one table each.
type Code string

const (
	CodeInvalid         Code = "invalid"          // bad input; the message names the field
	CodeUnauthorized    Code = "unauthorized"     // no, invalid or expired session; wrong credentials
	CodeForbidden       Code = "forbidden"        // authenticated but not allowed
	CodePendingApproval Code = "pending_approval" // login before an administrator approved the account
	CodeRejected        Code = "rejected"         // login of a rejected or deactivated account
	CodeNotFound        Code = "not_found"
	CodeConflict        Code = "conflict" // taken name, wrong expected version, wrong state
	CodeRateLimited     Code = "rate_limited"
	CodeTooLarge        Code = "too_large"
	CodeInternal        Code = "internal"
)

// Error is a domain error: a code for machines, a message for people. The
// message is safe to show to clients; internal errors are never this type.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf builds a domain error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the client-safe message of err: the domain message,
// or a generic text for internal errors so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
