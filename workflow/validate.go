package workflow

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/errcode"
)

// Limits of the identifiers the engine accepts (Step Functions': ARNs up
// to 2,048 characters, task tokens up to 2,048, error names 256 and
// causes 32,768).
const (
	maxARNLength   = 2048
	maxTokenLength = 2048
	maxErrorLength = 256
	maxCauseLength = 32768
)

// validText checks a caller's string before it reaches SQL or a stored
// document: valid UTF-8, no NUL or other control character (except tab
// and line breaks when multiline), and at most max bytes. The error names
// the field, so no database driver's text ever answers bad input.
func validText(field, s string, max int, multiline bool) error {
	if len(s) > max {
		return errcode.New(errcode.Invalid, "%s: %d bytes is more than the %d allowed", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return errcode.New(errcode.Invalid, "%s: not valid UTF-8 (at byte %d)", field, invalidAt(s))
	}
	for i, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return errcode.New(errcode.Invalid, "%s: control character %U at byte %d is not allowed", field, r, i)
		}
	}
	return nil
}

func invalidAt(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(s)
}

// validARN checks an ARN (or a name where the API takes either) given by
// a caller.
func validARN(field, arn string) error {
	if arn == "" {
		return errcode.New(errcode.Invalid, "%s is required", field)
	}
	return validText(field, arn, maxARNLength, false)
}

// validToken checks a task token given by a caller.
func validToken(field, token string) error {
	if token == "" {
		return errcode.New(errcode.Invalid, "%s is required", field)
	}
	return validText(field, token, maxTokenLength, false)
}

// validErrorCause checks the error name and cause a caller gives to
// StopExecution or SendTaskFailure.
func validErrorCause(errName, cause string) error {
	if err := validText("error", errName, maxErrorLength, false); err != nil {
		return err
	}
	return validText("cause", cause, maxCauseLength, true)
}

// cleanText makes a string from an invoker (an error name or cause) safe
// to store: invalid UTF-8 and NUL bytes become U+FFFD.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
