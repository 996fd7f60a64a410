// Package asl is Landfall's Amazon States Language interpreter: it parses,
// validates and evaluates state machine definitions with the behaviour of
// AWS Step Functions. It is pure — no I/O, no goroutines, no wall clock in
// the step API — so a durable engine can drive it one step at a time and
// store its state in a database row.
//
// Expressions (JSONPath, payload templates, intrinsic functions, JSONata)
// live in package asl/expr; values follow its model: JSON decoded with
// UseNumber (map[string]any, []any, string, json.Number, bool, nil).
//
// # Parsing
//
//	m, err := asl.Parse(def, asl.ParseOptions{Substitutions: map[string]string{"Bucket": "media"}})
//
// Parse accepts JSON or YAML and replaces ${Name} definition substitutions.
// Its error is ValidationErrors: every problem found, each with the JSON
// pointer of the offending value and a message
// ("/States/Transcribe/Retry/0/BackoffRate: must be ≥ 1.0"). The rules are
// those of Step Functions: required and unknown fields, Next/End, states
// that do not exist or cannot be reached, States.ALL alone and last,
// fields that belong to the other query language, a JSONPath state inside
// a JSONata machine, .sync and .waitForTaskToken in EXPRESS machines.
//
// # The step API
//
// A Frame is the position of one thread of execution — the top level, a
// Parallel branch or a Map iteration: the block it runs (Graph, a JSON
// pointer), the current state, that state's raw input, the variables in
// scope, retry counters and what the state is waiting for. Frames are plain
// data and marshal to JSON.
//
//	f := m.NewFrame(input)
//	out := m.Advance(f, asl.StepContext{Now: now, Context: ctxObject})
//
// Advance runs Pass, Choice, Succeed and Fail states (and Waits that are
// already due) in memory and stops at the first effect. Every call returns
// an Outcome whose Kind says what the caller does next; Outcome.Entered
// lists the states entered and exited during the call, for history.
//
//	KindTask      run out.Task (Resource, Pattern, Input = effective
//	              Parameters/Arguments, TimeoutSeconds, HeartbeatSeconds,
//	              Credentials), then m.CompleteTask(f, result, sc) or
//	              m.FailTask(f, errorName, cause, sc).
//	KindWait      wait until out.Until, then m.ResumeWait(f, sc).
//	KindRetry     a Retry matched a failure: wait out.Delay (attempt
//	              out.Attempt), then m.Advance(f, sc) runs the state again.
//	KindParallel  run each frame of out.Branches to its end (each is a
//	              Frame driven with the same API), then
//	              m.CompleteParallel(f, outputs, sc) with the outputs in
//	              branch order, or m.FailParallel(f, errorName, cause, sc).
//	KindItemRead  a distributed Map reads its items from a bucket object:
//	              open out.Read (Resource, Parameters with Bucket and Key,
//	              InputType JSON/JSONL/CSV, CSV settings, MaxItems) and pass
//	              the body to m.CompleteItemRead(f, reader, sc), or call
//	              m.FailItemRead(f, cause, sc).
//	KindMap       run one frame per item of out.Map.Items, made with
//	              m.NewItemFrame(f, i, out.Map.Items[i]), at most
//	              out.Map.MaxConcurrency at a time (0: no limit), then
//	              m.CompleteMap(f, results, failedCount, sc) — which applies
//	              the tolerated failure threshold (MapCall.Tolerates) — or,
//	              for an inline Map whose iteration failed,
//	              m.FailMap(f, errorName, cause, sc). A failed iteration of
//	              a tolerant Map is passed as an ItemFailure in results.
//	KindResultWrite a distributed Map with a ResultWriter: store
//	              out.Write's records (bucket and prefix in its
//	              Parameters), then m.CompleteResultWrite(f, details, sc)
//	              with the manifest's location, or
//	              m.FailResultWrite(f, cause, sc).
//	KindSucceeded the frame ended: out.Output.
//	KindFailed    the frame ended: out.Error, out.Cause.
//	KindYield     StepContext.MaxStates states ran without an effect: call
//	              m.Advance(f, sc) again (after committing what ran).
//
// Every function is deterministic given its arguments: time comes from
// StepContext.Now, FULL jitter from StepContext.Random (or, when nil, a hash
// of the state, attempt and time), task tokens from StepContext.TaskToken.
// Calling a completion function on a frame in the wrong phase fails the
// frame with States.Runtime naming the misuse. Retry and Catch apply to
// Task, Parallel and Map states exactly as in Step Functions: the first
// retrier whose ErrorEquals matches is used (and when its attempts are
// spent, the catchers are tried), States.ALL and States.TaskFailed never
// match States.Runtime, and causes of runtime errors carry Step Functions'
// "An error occurred while executing the state 'X' (entered at the event id
// #N)." prefix with N counted as the execution history would number it.
//
// # Running in memory
//
// Run drives the step API to completion for tests, the CLI and embedded
// use: Task states call a TaskHandler, a Clock (VirtualClock by default)
// makes Waits, retry delays and task durations instantaneous yet
// observable, Parallel branches and Map iterations run concurrently on
// forked clocks, and TimeoutSeconds / HeartbeatSeconds are enforced on the
// execution's clock (States.Timeout, States.HeartbeatTimeout).
//
//	res, err := asl.Run(ctx, m, input, asl.RunOptions{Tasks: handler, Trace: func(e asl.TraceEvent) { ... }})
//
// # Testing one state
//
// TestState runs a single state — given alone or named in a machine —
// with a mocked task result or error, as Step Functions' TestState API
// does, and reports SUCCEEDED, FAILED, CAUGHT_ERROR or RETRIABLE with the
// output, error, next state and inspection data.
//
// # Known differences from Step Functions
//
//   - History event ids in causes ("entered at the event id #N") are
//     counted per thread: exact for the top level and for sequential
//     iterations, approximate inside concurrent branches and iterations.
//   - The cause of States.NoChoiceMatched is Landfall's wording (no
//     recorded AWS text is available).
//   - A failed Parallel branch fails the Parallel with the branch's own
//     error and cause; States.BranchFailed is never raised.
//   - ItemReader reads JSON, JSONL and CSV objects and bucket listings;
//     MANIFEST and PARQUET inputs fail with States.ItemReaderFailed.
//   - ResultWriter records carry Index, Input, Output or Error/Cause and
//     Status, not the child executions' ARNs and dates.
//
// Package asl/asltest has scripted task mocks in the conformance suite's
// format and an in-memory bucket for ItemReaders.
package asl
