package workflow

import (
	"encoding/json"
	"time"
)

// Execution statuses, as Step Functions names them.
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// StateMachine is a stored definition.
type StateMachine struct {
	ARN        string    `json:"stateMachineArn"`
	Name       string    `json:"name"`
	Type       string    `json:"type"` // STANDARD or EXPRESS
	Definition string    `json:"definition"`
	RoleARN    string    `json:"roleArn,omitempty"`
	Revision   int64     `json:"revision"`
	CreatedAt  time.Time `json:"creationDate"`
	UpdatedAt  time.Time `json:"updateDate"`
	// Logging and Tracing are the loggingConfiguration and
	// tracingConfiguration documents (JSON, "" when never set).
	Logging     string `json:"loggingConfiguration,omitempty"`
	Tracing     string `json:"tracingConfiguration,omitempty"`
	Description string `json:"description,omitempty"`
	// Version is set when this describes a published version: its
	// number, and ARN is the version's ARN.
	Version int64 `json:"version,omitempty"`
}

// CreateStateMachineParams creates or (same name) updates a state machine.
type CreateStateMachineParams struct {
	Name       string
	Definition string
	RoleARN    string
	Type       string // default STANDARD
	// Logging and Tracing are JSON documents kept as given ("" for none);
	// with the name, type and definition they decide whether a second
	// create is the same request (Step Functions' idempotency rule:
	// a different role or different tags alone are ignored).
	Logging, Tracing string
	// Tags are set on a new machine (ignored when it exists already).
	Tags map[string]string
	// Publish publishes version 1 with VersionDescription.
	Publish            bool
	VersionDescription string
}

// UpdateStateMachineParams changes a machine; empty fields keep what
// the machine has.
type UpdateStateMachineParams struct {
	ARN, Definition, RoleARN, Logging, Tracing string
	// Publish publishes the updated machine as a new version.
	Publish            bool
	VersionDescription string
}

// Execution describes one run of a state machine.
type Execution struct {
	ARN             string          `json:"executionArn"`
	StateMachineARN string          `json:"stateMachineArn"`
	Name            string          `json:"name"`
	Status          string          `json:"status"`
	Input           json.RawMessage `json:"input,omitempty"`
	Output          json.RawMessage `json:"output,omitempty"`
	Error           string          `json:"error,omitempty"`
	Cause           string          `json:"cause,omitempty"`
	CorrelationID   string          `json:"correlationId,omitempty"`
	// Tenant is the tenant the execution runs for, fixed when it starts
	// (empty for installation work). Tasks receive it in their Invocation;
	// it is never read from the state.
	Tenant       string     `json:"tenant,omitempty"`
	StartDate    time.Time  `json:"startDate"`
	StopDate     *time.Time `json:"stopDate,omitempty"`
	RedriveCount int        `json:"redriveCount"`
	RedriveDate  *time.Time `json:"redriveDate,omitempty"`
	// VersionARN and AliasARN are set when the execution was started by
	// a version's or an alias's ARN (an alias's start records the
	// version it chose too).
	VersionARN string `json:"stateMachineVersionArn,omitempty"`
	AliasARN   string `json:"stateMachineAliasArn,omitempty"`
}

// StartExecutionParams starts an execution.
type StartExecutionParams struct {
	StateMachineARN string
	// Name is unique per state machine; empty picks a random one. Starting
	// again with the same name and input returns the existing execution.
	Name  string
	Input json.RawMessage // default {}
	// CorrelationID ties the execution to something outside (Landfall
	// uses the media id); it is stored and returned by Describe.
	CorrelationID string
	// Tenant is the tenant the execution runs for: the authenticated
	// caller's, or the one a bucket event's key names. Stored with the
	// execution and handed to every task; never taken from the input.
	Tenant string
	// TimeoutSeconds bounds the whole execution; 0 takes the
	// definition's TimeoutSeconds, if any.
	TimeoutSeconds int
	// RejectClosed answers a name already used by an ended execution with
	// AlreadyExists, as Step Functions' StartExecution does; without it
	// the ended execution is returned (the bus's idempotent starts).
	RejectClosed bool
	// parentToken is the token of the .sync task that starts the
	// execution.
	parentToken string
}

// ListExecutionsParams filters and pages ListExecutions. Results are
// newest first.
type ListExecutionsParams struct {
	StateMachineARN string
	Status          string
	CorrelationID   string
	// Tenant, when set, lists only that tenant's executions.
	Tenant        string
	StartedAfter  time.Time
	StartedBefore time.Time
	Limit         int    // default 100, at most 1000
	NextToken     string // from the previous page
}

// HistoryEvent is one Step Functions history event. Details is the
// event's details object, which the AWS protocol puts under the field
// EventDetailsField(Type).
type HistoryEvent struct {
	ID         int64           `json:"id"`
	PreviousID int64           `json:"previousEventId"`
	Type       string          `json:"type"`
	Timestamp  time.Time       `json:"timestamp"`
	Details    json.RawMessage `json:"details,omitempty"`
}

// HistoryParams pages GetExecutionHistory.
type HistoryParams struct {
	Reverse   bool
	Limit     int // default 1000
	NextToken string
}

// Activity is a named queue of Task work served by external workers.
type Activity struct {
	ARN       string    `json:"activityArn"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"creationDate"`
}

// ActivityTask is a task handed to an activity worker. An empty Token
// means no task arrived before the poll ended.
type ActivityTask struct {
	Token string          `json:"taskToken"`
	Input json.RawMessage `json:"input"`
	// Tenant is the tenant of the execution the task belongs to, as
	// stored when it started; the worker acts for it and no other.
	Tenant string `json:"tenant,omitempty"`
}

// eventDetailsFields maps event types to the AWS field holding their
// details.
var eventDetailsFields = map[string]string{
	"ExecutionStarted":              "executionStartedEventDetails",
	"ExecutionSucceeded":            "executionSucceededEventDetails",
	"ExecutionFailed":               "executionFailedEventDetails",
	"ExecutionAborted":              "executionAbortedEventDetails",
	"ExecutionTimedOut":             "executionTimedOutEventDetails",
	"ExecutionRedriven":             "executionRedrivenEventDetails",
	"TaskScheduled":                 "taskScheduledEventDetails",
	"TaskStarted":                   "taskStartedEventDetails",
	"TaskSubmitted":                 "taskSubmittedEventDetails",
	"TaskSucceeded":                 "taskSucceededEventDetails",
	"TaskFailed":                    "taskFailedEventDetails",
	"TaskTimedOut":                  "taskTimedOutEventDetails",
	"ActivityScheduled":             "activityScheduledEventDetails",
	"ActivityStarted":               "activityStartedEventDetails",
	"ActivitySucceeded":             "activitySucceededEventDetails",
	"ActivityFailed":                "activityFailedEventDetails",
	"ActivityTimedOut":              "activityTimedOutEventDetails",
	"MapStateStarted":               "mapStateStartedEventDetails",
	"MapIterationStarted":           "mapIterationStartedEventDetails",
	"MapIterationSucceeded":         "mapIterationSucceededEventDetails",
	"MapIterationFailed":            "mapIterationFailedEventDetails",
	"MapIterationAborted":           "mapIterationAbortedEventDetails",
	"ParallelStateStarted":          "",
	"ParallelStateSucceeded":        "",
	"ParallelStateFailed":           "",
	"ParallelStateAborted":          "",
	"MapStateSucceeded":             "",
	"MapStateFailed":                "",
	"MapStateAborted":               "",
	"WaitStateAborted":              "",
	"ExecutionRedrivenEventDetails": "",
}

// EventDetailsField returns the field of a Step Functions HistoryEvent
// that holds the details of an event of type typ: stateEnteredEventDetails
// for every *StateEntered, stateExitedEventDetails for *StateExited, and
// the type's own field otherwise ("" when the type has no details).
func EventDetailsField(typ string) string {
	if f, ok := eventDetailsFields[typ]; ok {
		return f
	}
	switch {
	case len(typ) > len("StateEntered") && typ[len(typ)-len("StateEntered"):] == "StateEntered":
		return "stateEnteredEventDetails"
	case len(typ) > len("StateExited") && typ[len(typ)-len("StateExited"):] == "StateExited":
		return "stateExitedEventDetails"
	}
	return ""
}
