// Package workflow runs Amazon States Language state machines as durable
// executions on River, embedded on SQLite (sqlite:///path/file.db) or
// scaled out on PostgreSQL (postgres://…?search_path=schema).
//
// # Transitions
//
// An execution is a tree of frames (the top level, Parallel branches, Map
// iterations), each an asl frame stored as JSON in wf_frames with a
// version. Every transition is one SQL transaction: it locks the
// execution row, runs the interpreter over the frame until it needs an
// effect (Pass, Choice, Succeed and Fail states all run inside it), and
// writes the new frame with a compare-and-swap on its version, appends the
// history events (Step Functions' types, ids and previous ids), enqueues
// the next River jobs with InsertManyTx and completes the River job being
// worked with JobCompleteTx. A transition that loses the compare-and-swap
// is abandoned, so a job delivered twice changes nothing the second time.
// On SQLite, which has one writer, the transitions of concurrent callers
// are committed together, each in its own savepoint (group commit); on
// PostgreSQL a transition's writes go in one round trip, and the
// completions of tasks this process claimed, which read nothing, are
// committed together with those of its other workers in one transaction
// (group commit, pggroup.go), each on its own again when the group fails.
//
// # Effects
//
//   - Task: a wf_tasks row per attempt. Resources are run by Invokers from
//     a Resources registry (longest prefix wins), outside any transaction,
//     at least once, with an idempotency key that is the same for every
//     delivery of one attempt. A chain of tasks in one execution runs in
//     the worker that ran the first, one transaction per task and no job.
//     .waitForTaskToken tasks invoke the resource with the task token and
//     wait for SendTaskSuccess or SendTaskFailure; activity ARNs queue the
//     task for GetActivityTask, which long-polls, so workers in any
//     language serve them over HTTP.
//   - Wait and Retry: River jobs scheduled at the wake time.
//   - Parallel and Map: child frames and a pending count on the parent;
//     MaxConcurrency starts further Map iterations as earlier ones end, and
//     a failed branch cancels its siblings.
//   - Distributed Map: a map run (wf_map_runs) whose items are rows of
//     wf_map_items, taken out of the Map's frame when it starts; each
//     iteration's frame is made from a template and its own item, so an
//     iteration's end reads one item and rewrites only the Map frame's
//     counters. A transition starts at most 64 iterations; a fill job of
//     the Map frame starts more. Its iterations are the run's child
//     executions (ListMapRunExecutions) and write no history events.
//   - states:startExecution.sync: the child execution names the task
//     (parent_token), which waits like a callback without a worker; the
//     child's end completes it in a job, and a transition that cancels
//     the task stops the child in another.
//
// # Failures
//
// Each worker process holds a lease (wf_workers, default 5s) that it
// renews every Lease/4. A reaper in every worker hands the running tasks
// of a worker whose lease ran out to the others (the same attempt, the
// same idempotency key), re-enqueues step jobs a dead worker had fetched
// (River would only rescue them after an hour), fails tasks past their
// TimeoutSeconds or HeartbeatSeconds with States.Timeout or
// States.HeartbeatTimeout, and times out executions past their
// TimeoutSeconds. A result that arrives after its attempt was fenced off
// is discarded.
//
// On SQLite every worker also holds a shared lock on <db>.workers.lock,
// which the kernel drops when the process dies. A worker that starts and
// finds no other holder knows every other registered worker is dead: it
// removes their rows, and their tasks and step jobs are taken over at
// once instead of after the lease. On PostgreSQL every worker holds a
// session advisory lock (on a connection of its own) keyed by its id,
// which the server drops when the process or its connection dies; the
// reaper removes the rows of workers whose lock it can take, and their
// work is taken over in that pass.
//
// # Executions
//
// StartExecution is idempotent by name and stores a correlation id;
// DescribeExecution, ListExecutions (by state machine, status, correlation
// id and start time, newest first, paged), StopExecution, History and
// RedriveExecution (from the Task, Parallel branch or Map iteration that
// failed; what succeeded is not repeated) complete the set. The
// apiserver/workflowapi and apiserver/sfnapi packages serve them over
// HTTP, the latter in the Step Functions protocol.
//
// # Tenants and access
//
// An execution runs for the tenant it was started for
// (StartExecutionParams.Tenant, empty for installation work), stored with
// it and never taken from its input: Describe and List return it, List
// filters by it, and every Invocation and activity task carries it, so
// task functions derive what they may touch from it. Starting a name
// another tenant holds is AlreadyExists and tells nothing of that
// execution. The engine's methods trust their caller; the APIs ask Access
// (from the request's identity.Principal) first, and Authorize and
// AuthorizeTask report another tenant's execution or task token exactly
// as a missing one.
//
// # Limits
//
// Config.HistoryEvents caps an execution's history (25,000 by default, as
// Step Functions): the execution fails with States.Runtime and writes
// nothing more. An interpreter step enters at most a hundred states, so a
// loop of Pass and Choice states goes on over many transitions and never
// holds more than a step's events in memory. Config.ExecutionTimeout
// bounds every execution; Config.ConcurrentExecutions caps a tenant's
// running executions (ResourceExhausted past it). Names, ARNs, tokens,
// definitions, inputs, errors and causes with NUL bytes, control
// characters or invalid UTF-8 are Invalid errors naming the field.
//
// # Storage
//
// Every statement comes from the store (store.go): Noun+Verb methods
// taking *Params, written in each driver's own SQL, with times passed in
// from Config.Now, the engine's only clock. The engine's tables are
// prefixed wf_ and migrated by the package's embedded migrations, River's
// by rivermigrate; the database may hold other tables besides.
package workflow
