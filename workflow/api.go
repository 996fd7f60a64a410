package workflow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// MaxPayloadBytes is the largest execution input or task result (256 KiB,
// as in Step Functions).
const MaxPayloadBytes = 256 * 1024

// maxDefinitionBytes is the largest state machine definition (1 MiB, as in
// Step Functions).
const maxDefinitionBytes = 1 << 20

func (e *Engine) arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:%s:%s", e.cfg.Region, e.cfg.Account, kind, name)
}

// validName checks a state machine, execution or activity name as Step
// Functions does: 1 to 80 characters, no whitespace, brackets, wildcards,
// punctuation that ARNs and URLs reserve, or control characters.
func validName(what, name string) error {
	if name == "" || len(name) > 4*80 || utf8.RuneCountInString(name) > 80 {
		return errcode.New(errcode.Invalid, "%s name %q: must be 1 to 80 characters", what, name)
	}
	if !utf8.ValidString(name) {
		return errcode.New(errcode.Invalid, "%s name %q: not valid UTF-8 (at byte %d)", what, name, invalidAt(name))
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return errcode.New(errcode.Invalid, "%s name %q: character %q is not allowed", what, name, r)
		}
	}
	return nil
}

// validJSON checks a JSON document given as input or output.
func validJSON(what string, b []byte) error {
	if len(b) > MaxPayloadBytes {
		return errcode.New(errcode.TooLarge, "%s: %d bytes is more than the %d allowed", what, len(b), MaxPayloadBytes)
	}
	if !utf8.Valid(b) {
		return errcode.New(errcode.Invalid, "%s: not valid UTF-8 (at byte %d)", what, invalidAt(string(b)))
	}
	if _, err := decodeValue(b); err != nil {
		return errcode.Wrap(errcode.Invalid, err, "%s is not valid JSON", what)
	}
	return nil
}

// ---- state machines ----

// CreateStateMachine validates and stores a definition. Creating again
// with the same name, type, definition, logging and tracing returns the
// existing machine, as Step Functions does (a different role or other
// tags alone are ignored, and not applied); any other difference under an
// existing name is AlreadyExists (use UpdateStateMachine). An invalid
// definition is Invalid and DefinitionErrors lists its located problems.
// With Publish, version 1 (or the existing newest version) is published
// and returned as the second result.
func (e *Engine) CreateStateMachine(ctx context.Context, p CreateStateMachineParams) (*StateMachine, error) {
	sm, _, err := e.CreateStateMachineVersion(ctx, p)
	return sm, err
}

// CreateStateMachineVersion is CreateStateMachine, also returning the
// version published when p.Publish is set.
func (e *Engine) CreateStateMachineVersion(ctx context.Context, p CreateStateMachineParams) (*StateMachine, *Version, error) {
	if err := validName("state machine", p.Name); err != nil {
		return nil, nil, err
	}
	if err := validText("definition", p.Definition, maxDefinitionBytes, true); err != nil {
		return nil, nil, err
	}
	if err := validRoleARN(p.RoleARN); err != nil {
		return nil, nil, err
	}
	if err := validConfigDoc("loggingConfiguration", p.Logging); err != nil {
		return nil, nil, err
	}
	if err := validConfigDoc("tracingConfiguration", p.Tracing); err != nil {
		return nil, nil, err
	}
	if err := validTags(p.Tags); err != nil {
		return nil, nil, err
	}
	if p.Type == "" {
		p.Type = "STANDARD"
	}
	if p.Type != "STANDARD" && p.Type != "EXPRESS" {
		return nil, nil, errcode.New(errcode.Invalid, "type %q: want STANDARD or EXPRESS", p.Type)
	}
	if _, err := e.compile([]byte(p.Definition)); err != nil {
		return nil, nil, err
	}
	if err := e.checkResources([]byte(p.Definition)); err != nil {
		return nil, nil, err
	}
	if p.Type == "EXPRESS" {
		// Express machines refuse the .sync and .waitForTaskToken patterns.
		if _, err := asl.Parse([]byte(p.Definition), asl.ParseOptions{Express: true}); err != nil {
			return nil, nil, errcode.Wrap(errcode.Invalid, err, "invalid EXPRESS state machine definition")
		}
	}
	arn := e.arn("stateMachine", p.Name)
	now := micros(e.now())
	var out *StateMachine
	var version *Version
	err := e.withTx(ctx, func(tx dbtx) error {
		version = nil
		sm, err := e.st.StateMachineGet(ctx, tx, &stateMachineGetParams{ARN: arn})
		if err == nil {
			if sm.Definition != p.Definition || sm.Type != p.Type || sm.Logging != p.Logging || sm.Tracing != p.Tracing {
				return errcode.New(errcode.AlreadyExists, "state machine %s already exists with a different definition, type or configuration", p.Name)
			}
			out = sm
			if p.Publish {
				version, err = e.publish(ctx, tx, sm, p.VersionDescription)
			}
			return err
		}
		if !errors.Is(err, errNoRows) {
			return err
		}
		if err := e.st.StateMachineInsert(ctx, tx, &stateMachineInsertParams{ARN: arn, Name: p.Name, Type: p.Type, Definition: p.Definition,
			RoleARN: p.RoleARN, Logging: p.Logging, Tracing: p.Tracing, CreatedUS: now}); err != nil {
			return err
		}
		for k, v := range p.Tags {
			if err := e.st.TagPut(ctx, tx, arn, k, v); err != nil {
				return err
			}
		}
		out = &StateMachine{ARN: arn, Name: p.Name, Type: p.Type, Definition: p.Definition, RoleARN: p.RoleARN, Revision: 1,
			CreatedAt: fromMicros(now), UpdatedAt: fromMicros(now), Logging: p.Logging, Tracing: p.Tracing}
		if p.Publish {
			version, err = e.publish(ctx, tx, out, p.VersionDescription)
			return err
		}
		return nil
	})
	return out, version, err
}

// validConfigDoc checks a logging or tracing configuration: "" or a JSON
// object.
func validConfigDoc(field, doc string) error {
	if doc == "" {
		return nil
	}
	if err := validText(field, doc, 64<<10, true); err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return errcode.New(errcode.Invalid, "%s: not a JSON object: %v", field, err)
	}
	return nil
}

// UpdateStateMachine replaces a machine's definition; running executions
// keep the definition they started with. An empty roleARN keeps the
// machine's role.
func (e *Engine) UpdateStateMachine(ctx context.Context, arn, definition, roleARN string) (*StateMachine, error) {
	if definition == "" {
		return nil, errcode.New(errcode.Invalid, "definition is required")
	}
	sm, _, err := e.UpdateStateMachineWith(ctx, UpdateStateMachineParams{ARN: arn, Definition: definition, RoleARN: roleARN})
	return sm, err
}

// UpdateStateMachineWith changes what p sets of a machine (at least one
// of definition, role, logging and tracing) and, with p.Publish,
// publishes the result as a new version.
func (e *Engine) UpdateStateMachineWith(ctx context.Context, p UpdateStateMachineParams) (*StateMachine, *Version, error) {
	if err := validARN("state machine ARN", p.ARN); err != nil {
		return nil, nil, err
	}
	if p.Definition == "" && p.RoleARN == "" && p.Logging == "" && p.Tracing == "" {
		return nil, nil, errcode.New(errcode.Invalid, "nothing to update: give a definition, roleArn, loggingConfiguration or tracingConfiguration")
	}
	if err := validText("definition", p.Definition, maxDefinitionBytes, true); err != nil {
		return nil, nil, err
	}
	if err := validRoleARN(p.RoleARN); err != nil {
		return nil, nil, err
	}
	if err := validConfigDoc("loggingConfiguration", p.Logging); err != nil {
		return nil, nil, err
	}
	if err := validConfigDoc("tracingConfiguration", p.Tracing); err != nil {
		return nil, nil, err
	}
	if p.Definition != "" {
		if _, err := e.compile([]byte(p.Definition)); err != nil {
			return nil, nil, err
		}
		if err := e.checkResources([]byte(p.Definition)); err != nil {
			return nil, nil, err
		}
	}
	var version *Version
	err := e.withTx(ctx, func(tx dbtx) error {
		version = nil
		sm, err := e.st.StateMachineGet(ctx, tx, &stateMachineGetParams{ARN: p.ARN})
		if errors.Is(err, errNoRows) {
			return errcode.New(errcode.NotFound, "state machine %s does not exist", p.ARN)
		}
		if err != nil {
			return err
		}
		if p.Definition != "" && sm.Type == "EXPRESS" {
			if _, err := asl.Parse([]byte(p.Definition), asl.ParseOptions{Express: true}); err != nil {
				return errcode.Wrap(errcode.Invalid, err, "invalid EXPRESS state machine definition")
			}
		}
		up := &stateMachineUpdateParams{ARN: p.ARN, Definition: sm.Definition, RoleARN: sm.RoleARN, Logging: sm.Logging, Tracing: sm.Tracing,
			UpdatedUS: micros(e.now())}
		if p.Definition != "" {
			up.Definition = p.Definition
		}
		if p.RoleARN != "" {
			up.RoleARN = p.RoleARN
		}
		if p.Logging != "" {
			up.Logging = p.Logging
		}
		if p.Tracing != "" {
			up.Tracing = p.Tracing
		}
		if _, err := e.st.StateMachineUpdate(ctx, tx, up); err != nil {
			return err
		}
		if p.Publish {
			sm, err = e.st.StateMachineGet(ctx, tx, &stateMachineGetParams{ARN: p.ARN})
			if err != nil {
				return err
			}
			version, err = e.publish(ctx, tx, sm, p.VersionDescription)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	sm, err := e.DescribeStateMachine(ctx, p.ARN)
	return sm, version, err
}

const smCols = `arn, name, type, definition, role_arn, revision, created_us, updated_us, logging, tracing, description`

func scanSM(r row) (*StateMachine, error) {
	sm := &StateMachine{}
	var c, u int64
	if err := r.Scan(&sm.ARN, &sm.Name, &sm.Type, &sm.Definition, &sm.RoleARN, &sm.Revision, &c, &u, &sm.Logging, &sm.Tracing, &sm.Description); err != nil {
		return nil, err
	}
	sm.CreatedAt, sm.UpdatedAt = fromMicros(c), fromMicros(u)
	return sm, nil
}

// DescribeStateMachine returns a machine by ARN (or by name); a
// version's ARN describes that version.
func (e *Engine) DescribeStateMachine(ctx context.Context, arnOrName string) (*StateMachine, error) {
	if err := validARN("state machine", arnOrName); err != nil {
		return nil, err
	}
	if IsVersionARN(arnOrName) {
		v, err := e.DescribeVersion(ctx, arnOrName)
		if err != nil {
			return nil, err
		}
		base, _ := splitQualified(arnOrName)
		sm, err := e.DescribeStateMachine(ctx, base)
		if err != nil {
			return nil, err
		}
		sm.ARN, sm.Definition, sm.RoleARN, sm.Revision, sm.Description, sm.Version = v.ARN, v.Definition, v.RoleARN, v.Revision, v.Description, v.Version
		sm.CreatedAt, sm.UpdatedAt = v.CreatedAt, v.CreatedAt
		return sm, nil
	}
	arn := arnOrName
	if !strings.HasPrefix(arn, "arn:") {
		arn = e.arn("stateMachine", arnOrName)
	}
	var sm *StateMachine
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		sm, err = e.st.StateMachineGet(ctx, tx, &stateMachineGetParams{ARN: arn})
		if errors.Is(err, errNoRows) {
			return errcode.New(errcode.NotFound, "state machine %s does not exist", arnOrName)
		}
		return err
	})
	return sm, err
}

// ListStateMachines lists machines by name.
func (e *Engine) ListStateMachines(ctx context.Context) ([]StateMachine, error) {
	var out []StateMachine
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		out, err = e.st.StateMachineList(ctx, tx, &stateMachineListParams{})
		return err
	})
	return out, err
}

// DeleteStateMachine deletes a machine with its versions, aliases and
// tags; its executions stay readable.
func (e *Engine) DeleteStateMachine(ctx context.Context, arn string) error {
	if err := validARN("state machine ARN", arn); err != nil {
		return err
	}
	return e.withTx(ctx, func(tx dbtx) error {
		as, err := e.st.AliasList(ctx, tx, arn)
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := e.st.TagDelete(ctx, tx, a.ARN, ""); err != nil {
				return err
			}
			if err := e.st.AliasDelete(ctx, tx, a.ARN); err != nil {
				return err
			}
		}
		vs, err := e.st.VersionList(ctx, tx, arn)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if err := e.st.VersionDelete(ctx, tx, v.ARN); err != nil {
				return err
			}
		}
		if err := e.st.TagDelete(ctx, tx, arn, ""); err != nil {
			return err
		}
		return e.st.StateMachineDelete(ctx, tx, &stateMachineDeleteParams{ARN: arn})
	})
}

// ---- executions ----

// StartExecution starts an execution. It is idempotent by name: the same
// name and input return the running (or, without p.RejectClosed, the
// finished) execution; the same name with another input is
// AlreadyExists. A version's or alias's ARN runs that version.
func (e *Engine) StartExecution(ctx context.Context, p StartExecutionParams) (*Execution, error) {
	if p.Name == "" {
		p.Name = randomID(16)
	}
	if err := validName("execution", p.Name); err != nil {
		return nil, err
	}
	sm, qualified, err := e.resolveStart(ctx, p.StateMachineARN)
	if err != nil {
		return nil, err
	}
	if len(p.Input) == 0 {
		p.Input = json.RawMessage("{}")
	}
	if err := validJSON("execution input", p.Input); err != nil {
		return nil, err
	}
	if err := validText("correlation id", p.CorrelationID, 256, false); err != nil {
		return nil, err
	}
	if p.Tenant != "" {
		if err := identity.CheckTenantID(p.Tenant); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "tenant")
		}
	}
	prog, err := e.progs.get(sm.Definition, e.compile)
	if err != nil {
		return nil, err
	}
	frame, err := prog.newFrame(p.Input)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "execution input")
	}
	if p.TimeoutSeconds < 0 {
		return nil, errcode.New(errcode.Invalid, "timeoutSeconds %d: must not be negative", p.TimeoutSeconds)
	}
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Duration(prog.timeoutSeconds()) * time.Second
	}
	if limit := e.cfg.ExecutionTimeout; limit > 0 && (timeout <= 0 || timeout > limit) {
		timeout = limit
	}
	arn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", e.cfg.Region, e.cfg.Account, sm.Name, p.Name)
	var out *Execution
	var run *taskRun
	var done bool
	slot := e.trySlot()
	err = e.withTx(ctx, func(tx dbtx) error {
		run, done = nil, false
		existing, err := e.describe(ctx, tx, arn)
		if err == nil {
			if existing.Tenant != p.Tenant {
				// Another tenant's execution: say only that the name is
				// taken, never what runs under it.
				return errcode.New(errcode.AlreadyExists, "execution %s already exists", p.Name)
			}
			if string(existing.Input) != string(p.Input) {
				return errcode.New(errcode.AlreadyExists, "execution %s already exists with a different input", p.Name)
			}
			if p.RejectClosed && existing.Status != StatusRunning {
				return errcode.New(errcode.AlreadyExists, "execution %s already exists and has ended (%s); start another name", arn, existing.Status)
			}
			out = existing
			return nil
		}
		if !errors.Is(err, errcode.NotFound) {
			return err
		}
		if err := e.checkConcurrency(ctx, tx, p.Tenant); err != nil {
			return err
		}
		now := e.now().UTC().Truncate(time.Microsecond)
		var timeoutUS int64
		if timeout > 0 {
			timeoutUS = micros(now.Add(timeout))
		}
		if err := e.st.ExecutionInsert(ctx, tx, &executionInsertParams{ARN: arn, StateMachineARN: sm.ARN, Name: p.Name, Input: string(p.Input),
			CorrelationID: p.CorrelationID, Tenant: p.Tenant, Definition: sm.Definition, StartUS: micros(now), TimeoutUS: timeoutUS,
			Qualified: qualified, ParentToken: p.parentToken}); err != nil {
			return err
		}
		t := &txn{e: e, ctx: ctx, tx: tx, now: now, frames: map[string]*frameRow{}, prog: prog, canInline: slot,
			exec: &execRow{arn: arn, smARN: sm.ARN, name: p.Name, status: StatusRunning, input: string(p.Input), nextEvent: 1,
				tenant: p.Tenant, startUS: micros(now), timeoutUS: timeoutUS, parentToken: p.parentToken}}
		root := t.newFrame(nil, 0, frame)
		root.checkpoint, root.checkpointKind = frame, "start"
		t.event(root, "ExecutionStarted", map[string]any{"input": string(p.Input), "roleArn": sm.RoleARN,
			"stateMachineArn": sm.ARN, "inputDetails": map[string]bool{"truncated": false}})
		// The in-memory states up to the first effect run now; the first
		// task runs in this process when a slot is free.
		if err := t.drive(root); err != nil {
			return err
		}
		if err := t.flush(); err != nil {
			return err
		}
		run, done = t.inline, t.exec.finished
		out = &Execution{ARN: arn, StateMachineARN: sm.ARN, Name: p.Name, Status: t.exec.status, Input: p.Input, CorrelationID: p.CorrelationID,
			Tenant: p.Tenant, StartDate: now,
			Error: t.exec.errName, Cause: t.exec.cause}
		out.VersionARN, out.AliasARN, _ = strings.Cut(qualified, " ")
		if t.exec.output != nil {
			out.Output = json.RawMessage(*t.exec.output)
		}
		if t.exec.finished {
			stop := fromMicros(t.exec.stopUS)
			out.StopDate = &stop
		}
		return nil
	})
	if slot {
		e.spawn(run)
	}
	if done {
		e.notifyDone(arn)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkConcurrency fails with ResourceExhausted when tenant already runs
// the most executions the engine allows. On PostgreSQL a transaction lock
// per tenant makes concurrent starts count one after another; SQLite
// serialises writers anyway.
func (e *Engine) checkConcurrency(ctx context.Context, tx dbtx, tenant string) error {
	limit := e.cfg.ConcurrentExecutions
	if limit <= 0 || tenant == "" {
		return nil
	}
	n, err := e.st.ExecutionCountRunning(ctx, tx, &executionCountRunningParams{Tenant: tenant})
	if err != nil {
		return err
	}
	if n >= limit {
		return errcode.New(errcode.ResourceExhausted, "tenant %s already runs %d executions, the most allowed at once; start more when some have ended", tenant, n)
	}
	return nil
}

const execListCols = `arn, sm_arn, name, status, input, output, error, cause, correlation_id, tenant, start_us, stop_us, redrive_count, redrive_us, sm_qualified`

func scanExecution(r row) (*Execution, error) {
	x := &Execution{}
	var input string
	var output, errName, cause *string
	var start, stop, redrive int64
	var qualified string
	if err := r.Scan(&x.ARN, &x.StateMachineARN, &x.Name, &x.Status, &input, &output, &errName, &cause, &x.CorrelationID, &x.Tenant, &start, &stop, &x.RedriveCount, &redrive, &qualified); err != nil {
		return nil, err
	}
	// sm_qualified holds "VERSION_ARN[ ALIAS_ARN]".
	x.VersionARN, x.AliasARN, _ = strings.Cut(qualified, " ")
	x.Input = json.RawMessage(input)
	if output != nil {
		x.Output = json.RawMessage(*output)
	}
	if errName != nil {
		x.Error = *errName
	}
	if cause != nil {
		x.Cause = *cause
	}
	x.StartDate = fromMicros(start)
	if stop != 0 {
		t := fromMicros(stop)
		x.StopDate = &t
	}
	if redrive != 0 {
		t := fromMicros(redrive)
		x.RedriveDate = &t
	}
	return x, nil
}

func (e *Engine) describe(ctx context.Context, tx dbtx, arn string) (*Execution, error) {
	x, err := e.st.ExecutionGet(ctx, tx, &executionGetParams{ARN: arn})
	if errors.Is(err, errNoRows) {
		return nil, ExecutionNotFound(arn)
	}
	return x, err
}

// DescribeExecution returns an execution.
func (e *Engine) DescribeExecution(ctx context.Context, arn string) (*Execution, error) {
	if err := validARN("execution ARN", arn); err != nil {
		return nil, err
	}
	var x *Execution
	err := readOne(ctx, e.b, func(tx dbtx) error {
		var err error
		x, err = e.describe(ctx, tx, arn)
		return err
	})
	return x, err
}

// WaitExecution blocks until the execution has ended or ctx is done.
func (e *Engine) WaitExecution(ctx context.Context, arn string) (*Execution, error) {
	if err := validARN("execution ARN", arn); err != nil {
		return nil, err
	}
	// Executions ended by another process are seen by polling.
	poll := 250 * time.Millisecond
	defer e.dropWaiter(arn)
	for {
		wake := e.doneWaiter(arn)
		x, err := e.DescribeExecution(ctx, arn)
		if err != nil {
			return nil, err
		}
		if x.Status != StatusRunning {
			return x, nil
		}
		select {
		case <-ctx.Done():
			return x, ctx.Err()
		case <-wake:
		case <-time.After(poll):
		}
	}
}

type pageToken struct {
	Start int64  `json:"s"`
	ARN   string `json:"a"`
	ID    int64  `json:"i,omitempty"`
}

func encodeToken(p pageToken) string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var p pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		return p, errcode.New(errcode.Invalid, "nextToken %q is not a token this server issued", s)
	}
	return p, nil
}

// ListExecutions lists executions newest first and returns the token of
// the next page ("" at the end).
func (e *Engine) ListExecutions(ctx context.Context, p ListExecutionsParams) ([]Execution, string, error) {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	if p.Limit > 1000 {
		return nil, "", errcode.New(errcode.Invalid, "limit %d: at most 1000", p.Limit)
	}
	switch p.Status {
	case "", StatusRunning, StatusSucceeded, StatusFailed, StatusTimedOut, StatusAborted:
	default:
		return nil, "", errcode.New(errcode.Invalid, "status %q: want RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED", p.Status)
	}
	if err := validText("state machine ARN", p.StateMachineARN, maxARNLength, false); err != nil {
		return nil, "", err
	}
	if err := validText("correlation id", p.CorrelationID, 256, false); err != nil {
		return nil, "", err
	}
	if p.Tenant != "" {
		if err := identity.CheckTenantID(p.Tenant); err != nil {
			return nil, "", errcode.Wrap(errcode.Invalid, err, "tenant")
		}
	}
	lp := &executionListParams{StateMachineARN: p.StateMachineARN, Status: p.Status, CorrelationID: p.CorrelationID, Tenant: p.Tenant,
		Limit: p.Limit + 1}
	if !p.StartedAfter.IsZero() {
		lp.StartedAfterUS = micros(p.StartedAfter)
	}
	if !p.StartedBefore.IsZero() {
		lp.StartedBeforeUS = micros(p.StartedBefore)
	}
	if p.NextToken != "" {
		tok, err := decodeToken(p.NextToken)
		if err != nil {
			return nil, "", err
		}
		if validText("nextToken", tok.ARN, maxARNLength, false) != nil {
			return nil, "", errcode.New(errcode.Invalid, "nextToken %q is not a token this server issued", p.NextToken)
		}
		if tok.ARN == "" {
			return nil, "", errcode.New(errcode.Invalid, "nextToken %q is not a token this server issued", p.NextToken)
		}
		lp.AfterStartUS, lp.AfterARN = tok.Start, tok.ARN
	}
	var out []Execution
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		out, err = e.st.ExecutionList(ctx, tx, lp)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		last := out[len(out)-1]
		next = encodeToken(pageToken{Start: micros(last.StartDate), ARN: last.ARN})
	}
	return out, next, nil
}

// StopExecution aborts a running execution: open tasks are cancelled and
// their late results discarded. Stopping an ended execution is
// FailedPrecondition.
func (e *Engine) StopExecution(ctx context.Context, arn, errName, cause string) (*Execution, error) {
	if err := validARN("execution ARN", arn); err != nil {
		return nil, err
	}
	if err := validErrorCause(errName, cause); err != nil {
		return nil, err
	}
	_, err := e.transition(ctx, arn, nil, false, func(t *txn) error {
		if t.exec.status != StatusRunning {
			return errcode.New(errcode.FailedPrecond, "execution %s is %s, not RUNNING", arn, t.exec.status)
		}
		t.endExecution(StatusAborted, "ExecutionAborted", errName, cause)
		return nil
	})
	if errors.Is(err, errStale) {
		return nil, ExecutionNotFound(arn)
	}
	if err != nil {
		return nil, err
	}
	return e.DescribeExecution(ctx, arn)
}

// History returns an execution's events in id order (or reversed) and
// the token of the next page.
func (e *Engine) History(ctx context.Context, arn string, p HistoryParams) ([]HistoryEvent, string, error) {
	if err := validARN("execution ARN", arn); err != nil {
		return nil, "", err
	}
	if p.Limit <= 0 || p.Limit > 1000 {
		p.Limit = 1000
	}
	var after int64
	if p.NextToken != "" {
		tok, err := decodeToken(p.NextToken)
		if err != nil {
			return nil, "", err
		}
		after = tok.ID
	}
	if p.Reverse && after == 0 {
		after = 1 << 62
	}
	var out []HistoryEvent
	err := e.withTx(ctx, func(tx dbtx) error {
		if _, err := e.describe(ctx, tx, arn); err != nil {
			return err
		}
		var err error
		out, err = e.st.HistoryList(ctx, tx, &historyListParams{ExecutionARN: arn, After: after, Reverse: p.Reverse, Limit: p.Limit + 1})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = encodeToken(pageToken{ID: out[len(out)-1].ID})
	}
	return out, next, nil
}

// PutStateMachine creates the named state machine, or updates its
// definition when it exists with another one (a deployment that ships a
// new pipeline). Running executions keep the definition they started
// with.
func (e *Engine) PutStateMachine(ctx context.Context, p CreateStateMachineParams) (*StateMachine, error) {
	sm, err := e.CreateStateMachine(ctx, p)
	if err == nil && p.RoleARN != "" && sm.RoleARN != p.RoleARN {
		// Create ignores another role; a deployment applies it.
		sm, _, err = e.UpdateStateMachineWith(ctx, UpdateStateMachineParams{ARN: sm.ARN, RoleARN: p.RoleARN})
		return sm, err
	}
	if !errors.Is(err, errcode.AlreadyExists) {
		return sm, err
	}
	existing, err := e.DescribeStateMachine(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	sm, _, err = e.UpdateStateMachineWith(ctx, UpdateStateMachineParams{ARN: existing.ARN, Definition: p.Definition, RoleARN: p.RoleARN,
		Logging: p.Logging, Tracing: p.Tracing})
	return sm, err
}
