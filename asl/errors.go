package asl

import (
	"fmt"
	"strings"
)

// Error names defined by the States Language.
const (
	ErrAll                             = "States.ALL"
	ErrHeartbeatTimeout                = "States.HeartbeatTimeout"
	ErrTimeout                         = "States.Timeout"
	ErrTaskFailed                      = "States.TaskFailed"
	ErrPermissions                     = "States.Permissions"
	ErrResultPathMatchFailure          = "States.ResultPathMatchFailure"
	ErrParameterPathFailure            = "States.ParameterPathFailure"
	ErrBranchFailed                    = "States.BranchFailed"
	ErrNoChoiceMatched                 = "States.NoChoiceMatched"
	ErrIntrinsicFailure                = "States.IntrinsicFailure"
	ErrExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold"
	ErrItemReaderFailed                = "States.ItemReaderFailed"
	ErrResultWriterFailed              = "States.ResultWriterFailed"
	ErrRuntime                         = "States.Runtime"
	ErrDataLimitExceeded               = "States.DataLimitExceeded"
	ErrQueryEvaluationError            = "States.QueryEvaluationError"
)

// Validation error codes, as Step Functions' ValidateStateMachineDefinition
// names them.
const (
	CodeSchema      = "SCHEMA_VALIDATION_FAILED"
	CodeInvalidJSON = "INVALID_JSON_DESCRIPTION"
	CodeReference   = "INVALID_REFERENCE"
)

// ValidationError is one problem in a definition, located by the JSON
// pointer of the offending value ("" is the document root).
type ValidationError struct {
	Code    string `json:"code"`
	Pointer string `json:"pointer"`
	Message string `json:"message"`
	// Line and Column locate the value in the definition text (1-based;
	// 0 when unknown). A missing field is located at its parent.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
}

func (e ValidationError) Error() string {
	return pointerOrRoot(e.Pointer) + ": " + e.Message
}

// ValidationErrors lists every problem found in a definition. Parse
// returns it as its error.
type ValidationErrors []ValidationError

func (es ValidationErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

func (es *ValidationErrors) add(ptr, format string, args ...any) {
	*es = append(*es, ValidationError{Code: CodeSchema, Pointer: ptr, Message: fmt.Sprintf(format, args...)})
}

// isRuntimeFatal reports whether an error name escapes Retry and Catch:
// States.Runtime always fails the execution.
func isRuntimeFatal(name string) bool { return name == ErrRuntime }

// errorMatches reports whether a Retry or Catch's ErrorEquals entry
// matches an error name.
func errorMatches(pattern, name string) bool {
	switch pattern {
	case ErrAll:
		return !isRuntimeFatal(name)
	case ErrTaskFailed:
		return name != ErrTimeout && !isRuntimeFatal(name)
	}
	return pattern == name
}
