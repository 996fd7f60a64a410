// Package errcode holds Landfall's error codes: one small set of stable
// names that callers test with errors.Is and that the state machine's Retry
// and Catch match by name. Only apiserver turns them into HTTP statuses.
package errcode

import (
	"errors"
	"fmt"
)

// Code is a stable error name. Codes used as ASL error names are dotted
// ("Media.Corrupt"); the rest are single words.
type Code string

// Generic codes.
const (
	Unknown          Code = "Unknown"
	Invalid          Code = "InvalidArgument" // bad input: names what and where
	NotFound         Code = "NotFound"        // the named thing does not exist
	AlreadyExists    Code = "AlreadyExists"   // a create collided with an existing thing
	FailedPrecond    Code = "FailedPrecondition"
	PermissionDenied Code = "PermissionDenied" // authenticated but not allowed (another tenant's data)
	Unauthenticated  Code = "Unauthenticated"
	TooLarge         Code = "TooLarge"    // a size limit was passed
	RateLimited      Code = "RateLimited" // a caller's request or upload rate was passed: retry after a while
	Unavailable      Code = "Unavailable"
	NotImplemented   Code = "NotImplemented" // a driver or provider cannot do this (yet)
	Canceled         Code = "Canceled"
	DeadlineExceeded Code = "DeadlineExceeded"
)

// Codes raised by analysers; the state machine matches them by name.
const (
	MediaUnsupported      Code = "Media.Unsupported"  // not audio, video or image, or a format we do not decode
	MediaCorrupt          Code = "Media.Corrupt"      // claims a format but cannot be decoded
	MediaEmpty            Code = "Media.Empty"        // zero bytes, or no usable stream
	MediaTooLarge         Code = "Media.TooLarge"     // dimensions or duration past configured bounds
	ProviderThrottled     Code = "Provider.Throttled" // 429 or a throttling exception: retry with backoff
	ProviderTransient     Code = "Provider.Transient" // 5xx, connection reset, timeout: retry
	ProviderFailed        Code = "Provider.Failed"    // a permanent provider error (4xx other than 429)
	ProviderBadOutput     Code = "Provider.BadOutput" // the model's output failed its schema after repair
	ProviderNotConfigured Code = "Provider.NotConfigured"
	ToolMissing           Code = "Tool.Missing" // an external command (ffmpeg, tesseract, …) is not installed
	ToolFailed            Code = "Tool.Failed"  // an external command exited non-zero
)

// Codes raised by the pipeline's tasks.
const (
	// ForbiddenReference: a task's input names something outside what the
	// execution may touch (another tenant's media, key or rows, another
	// bucket, a key outside the tenant's prefixes, a ".." component). The
	// task touches nothing.
	ForbiddenReference Code = "Landfall.ForbiddenReference"
	// AlreadyProcessed: the object's media item already finished
	// (SUCCEEDED or FAILED); a repeated delivery does not reset it.
	AlreadyProcessed Code = "Landfall.AlreadyProcessed"
)

// Error is an error with a code. Message says what is wrong and where.
type Error struct {
	Code    Code
	Message string
	Err     error // optional underlying error
}

func (e *Error) Error() string {
	switch {
	case e.Message == "" && e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Code, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	default:
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is a *Error or Code with the same code, so
// errors.Is(err, errcode.NotFound) works.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *Error:
		return t.Code == e.Code
	case Code:
		return t == e.Code
	}
	return false
}

// Error makes a Code usable as an errors.Is target.
func (c Code) Error() string { return string(c) }

// New returns an error with code c and a formatted message.
func New(c Code, format string, args ...any) error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with code c wrapping err. It returns nil if err is nil.
func Wrap(c Code, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Code: c, Message: fmt.Sprintf(format, args...), Err: err}
}

// Of returns the code of the first *Error in err's chain, or Unknown.
func Of(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c Code
	if errors.As(err, &c) {
		return c
	}
	return Unknown
}

// MessageOf returns the message of the first *Error in err's chain, or
// err's text.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Err != nil && e.Message != "" {
			return e.Message + ": " + e.Err.Error()
		}
		if e.Message != "" {
			return e.Message
		}
		if e.Err != nil {
			return e.Err.Error()
		}
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
