package workflow

import (
	"encoding/json"
	"time"
)

// program is a parsed state machine as the engine drives it: a pure step
// function over serialised frames. The asl package provides the real one
// (see aslprogram.go); everything the engine stores is a frame's bytes, so
// an execution survives a restart of the process that drove it.
type program interface {
	// newFrame returns the root frame for an execution input.
	newFrame(input json.RawMessage) (json.RawMessage, error)
	// advance runs in-memory states until an effect or the end.
	advance(frame json.RawMessage, sc stepContext) (json.RawMessage, outcome, error)
	// The operations below record an effect's result and, like advance,
	// run on until the next effect.
	completeTask(frame, result json.RawMessage, sc stepContext) (json.RawMessage, outcome, error)
	failTask(frame json.RawMessage, errName, cause string, sc stepContext) (json.RawMessage, outcome, error)
	// resume continues after a Wait state's time or a Retry delay.
	resume(frame json.RawMessage, sc stepContext) (json.RawMessage, outcome, error)
	completeParallel(frame json.RawMessage, outputs []json.RawMessage, sc stepContext) (json.RawMessage, outcome, error)
	failParallel(frame json.RawMessage, errName, cause string, sc stepContext) (json.RawMessage, outcome, error)
	// completeMap: failedAt marks the iterations that failed (their
	// results are {"Error", "Cause"}), failed counts them.
	// items are the Map's items when detachMapItems took them out of the
	// frame (nil otherwise).
	completeMap(frame json.RawMessage, items, results []json.RawMessage, failedAt []bool, failed int, sc stepContext) (json.RawMessage, outcome, error)
	// detachMapItems takes the items out of a frame stopped at a Map
	// state and names the map run.
	detachMapItems(frame json.RawMessage, runARN string) (detached, error)
	// itemFrame returns the frame of an iteration over item, from the
	// template detachMapItems returned.
	itemFrame(template, item json.RawMessage) (json.RawMessage, error)
	failMap(frame json.RawMessage, errName, cause string, sc stepContext) (json.RawMessage, outcome, error)
	// newItemFrame returns the frame of Map iteration i of a frame stopped
	// at a Map state.
	newItemFrame(frame json.RawMessage, i int) (json.RawMessage, error)
	// timeoutSeconds is the definition's execution TimeoutSeconds (0: none).
	timeoutSeconds() int
}

// compileFunc parses and validates a definition. Validation errors are
// returned as *errcode.Error with code Invalid whose message lists every
// located problem.
type compileFunc func(definition []byte) (program, error)

type outcomeKind int

const (
	outTask outcomeKind = iota + 1
	outWait
	outRetry
	outParallel
	outMap
	outSucceeded
	outFailed
	// outYield: the step ran its MaxStates states; advance again.
	outYield
)

// outcome is what advance stopped at.
type outcome struct {
	kind outcomeKind
	// events are the history events of the states passed through (entered,
	// exited), in order, before the effect.
	events []stateEvent

	// outTask
	task taskCall
	// outWait and outRetry
	until time.Time
	// outRetry: the retry attempt about to be made (1 for the first retry)
	attempt int
	// outParallel: one frame per branch
	branches []json.RawMessage
	// outMap
	mapItems       int
	maxConcurrency int // 0: unlimited
	// distributed is a DISTRIBUTED-mode Map: its iterations write no
	// history events to the execution (see frameRow.quiet).
	distributed      bool
	toleratedCount   int     // -1: not set
	toleratedPercent float64 // -1: not set
	// outSucceeded
	output json.RawMessage
	// outFailed
	errName, cause string
	// stateName is the state that produced the effect.
	stateName string
}

// stateEvent is one Step Functions history event of a state passing
// (TaskStateEntered, PassStateExited, …) with its details object.
type stateEvent struct {
	Type    string
	Details any
}

// taskCall is a Task state's invocation.
type taskCall struct {
	Resource         string
	Pattern          string // "", "sync", "waitForTaskToken"
	Input            json.RawMessage
	TimeoutSeconds   int
	HeartbeatSeconds int
	Attempt          int
	// Token is the task token the interpreter saw as $$.Task.Token.
	Token string
}

// stepContext is what a step needs besides the frame: the clock and the
// Context object ($$).
type stepContext struct {
	// IO reads a Map's items and writes its results (nil: neither is
	// served, and such a Map fails with States.ItemReaderFailed or
	// States.ResultWriterFailed).
	IO        *mapIO
	Now       time.Time
	Execution executionContext
	TaskToken string
	// MaxStates bounds the states one step enters; a step that reaches it
	// ends with outYield (0: the interpreter's own bound).
	MaxStates int
}

type executionContext struct {
	ID               string
	Name             string
	StartTime        time.Time
	Input            json.RawMessage
	RoleArn          string
	RedriveCount     int
	StateMachineID   string
	StateMachineName string
}

// detached is what detachMapItems took out of a Map frame.
type detached struct {
	frame json.RawMessage // without the items
	items []json.RawMessage
	// sizes counts the Map's items in each of items: 1, or the size of
	// an ItemBatcher's batch.
	sizes []int
	// template is the frame of an iteration with a null input, from
	// which itemFrame makes each iteration's.
	template json.RawMessage
}
