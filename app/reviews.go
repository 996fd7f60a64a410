package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/crashpoint"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// LambdaInvokePrefix is the Step Functions Lambda integration
// (arn:aws:states:::lambda:invoke[.waitForTaskToken]). Landfall serves it
// with its own functions: FunctionName names one of them and Payload is
// its input, as on AWS.
const LambdaInvokePrefix = "arn:aws:states:::lambda:invoke"

// lambdaInvoker runs arn:aws:states:::lambda:invoke tasks on the function
// table. A request-response invocation returns the Lambda integration's
// shape ({"Payload": …, "StatusCode": 200}); with .waitForTaskToken the
// function's result is discarded and the execution waits for the token.
type lambdaInvoker struct{ fns *workflow.Functions }

func (l lambdaInvoker) Invoke(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
	var in struct {
		FunctionName string          `json:"FunctionName"`
		Payload      json.RawMessage `json:"Payload"`
	}
	if err := json.Unmarshal(inv.Input, &in); err != nil || in.FunctionName == "" {
		return nil, &workflow.TaskError{Name: "States.Runtime", Cause: "lambda:invoke needs Parameters {\"FunctionName\": …, \"Payload\": …}"}
	}
	if !strings.HasPrefix(in.FunctionName, FunctionPrefix) {
		return nil, &workflow.TaskError{Name: "Lambda.ResourceNotFoundException",
			Cause: fmt.Sprintf("function %q is not served here (Landfall serves %s<task>)", in.FunctionName, FunctionPrefix)}
	}
	if len(in.Payload) == 0 {
		in.Payload = json.RawMessage("{}")
	}
	sub := inv
	sub.Resource, sub.Input = in.FunctionName, in.Payload
	out, err := l.fns.Invoke(ctx, sub)
	if err != nil || inv.TaskToken != "" {
		return out, err
	}
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	return json.Marshal(map[string]any{"Payload": out, "StatusCode": 200, "ExecutedVersion": "$LATEST"})
}

// reviews is the review queue's service: it reads and changes the
// catalog's queue and versions and resumes executions by task token.
type reviews struct{ a *App }

var _ apiserver.Reviews = reviews{}

func (r reviews) scope(tenant string) (*pipeline.Scope, error) {
	return pipeline.NewScope(tenant, BucketName(r.a.Cfg.Blob), r.a.Bucket, r.a.Catalog)
}

func (r reviews) List(ctx context.Context, p *catalog.ReviewListParams) (*apiserver.ReviewList, error) {
	page, err := r.a.Catalog.ReviewList(ctx, p)
	if err != nil {
		return nil, err
	}
	counts, err := r.a.Catalog.ReviewCounts(ctx, &catalog.ReviewCountsParams{TenantID: p.TenantID})
	if err != nil {
		return nil, err
	}
	return &apiserver.ReviewList{Reviews: page.Reviews, Next: page.Next, Counts: counts}, nil
}

func (r reviews) Get(ctx context.Context, tenant, mediaID string) (*apiserver.ReviewItem, error) {
	rv, err := r.a.Catalog.ReviewGet(ctx, &catalog.ReviewGetParams{TenantID: tenant, MediaID: mediaID})
	if err != nil {
		return nil, err
	}
	m, err := r.a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: mediaID, TenantID: tenant})
	if err != nil {
		return nil, err
	}
	s, err := r.scope(tenant)
	if err != nil {
		return nil, err
	}
	doc, version, err := pipeline.CurrentReviewDoc(ctx, s, r.a.Catalog, mediaID, 0)
	if err != nil {
		return nil, err
	}
	return &apiserver.ReviewItem{Review: rv, Media: m, Document: doc, Version: version}, nil
}

func (r reviews) Claim(ctx context.Context, tenant, mediaID, reviewer string, lease time.Duration) (*catalog.Review, error) {
	if lease == 0 {
		lease = r.a.Cfg.Review.ClaimLease.Duration
	}
	rv, err := r.a.Catalog.ReviewClaim(ctx, &catalog.ReviewClaimParams{TenantID: tenant, MediaID: mediaID, Reviewer: reviewer, Lease: lease})
	if err != nil {
		return nil, err
	}
	r.heartbeat(ctx, rv)
	return rv, nil
}

func (r reviews) Release(ctx context.Context, tenant, mediaID, reviewer string, force bool) (*catalog.Review, error) {
	return r.a.Catalog.ReviewRelease(ctx, &catalog.ReviewReleaseParams{TenantID: tenant, MediaID: mediaID, Reviewer: reviewer, Force: force})
}

// heartbeat tells the waiting task a person is working on the item (a
// review's HeartbeatSeconds escalates items nobody touches).
func (r reviews) heartbeat(ctx context.Context, rv *catalog.Review) {
	if rv.State == catalog.ReviewOpen && rv.TaskToken != "" {
		if err := r.a.Engine.SendTaskHeartbeat(ctx, rv.TaskToken); err != nil {
			r.a.Log.Debug("review: heartbeat", "media_id", rv.MediaID, "err", err)
		}
	}
}

// openFor checks that reviewer may change an item now: it is OPEN and
// not claimed by someone else.
func openFor(rv *catalog.Review, reviewer string) error {
	if rv.State != catalog.ReviewOpen {
		what := rv.State
		if rv.Decision != nil {
			what = fmt.Sprintf("%s (%s by %s)", rv.State, rv.Decision.Outcome, rv.Decision.Reviewer)
		}
		return errcode.New(errcode.FailedPrecond, "review of media %s is %s: it can no longer be edited", rv.MediaID, what)
	}
	if rv.ClaimedBy != "" && rv.ClaimedBy != reviewer {
		return errcode.New(errcode.FailedPrecond, "review of media %s is claimed by %s until %s", rv.MediaID, rv.ClaimedBy,
			rv.ClaimExpiresAt.Format(time.RFC3339))
	}
	return nil
}

func (r reviews) Edit(ctx context.Context, tenant, mediaID, reviewer string, after int64, edits []pipeline.Edit) (*catalog.MediaVersion, error) {
	if len(edits) == 0 {
		return nil, errcode.New(errcode.Invalid, "edits: none given")
	}
	if len(edits) > 500 {
		return nil, errcode.New(errcode.Invalid, "edits: at most 500 in one version")
	}
	rv, err := r.a.Catalog.ReviewGet(ctx, &catalog.ReviewGetParams{TenantID: tenant, MediaID: mediaID})
	if err != nil {
		return nil, err
	}
	if err := openFor(rv, reviewer); err != nil {
		return nil, err
	}
	s, err := r.scope(tenant)
	if err != nil {
		return nil, err
	}
	doc, version, err := pipeline.CurrentReviewDoc(ctx, s, r.a.Catalog, mediaID, 0)
	if err != nil {
		return nil, err
	}
	if after != 0 && after != version {
		return nil, &errcode.Error{Code: errcode.FailedPrecond, Err: catalog.ErrVersionConflict,
			Message: fmt.Sprintf("media %s is at version %d, not %d: someone changed it meanwhile; reload and edit again", mediaID, version, after)}
	}
	applied, err := pipeline.ApplyEdits(doc, edits)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(applied)
	if err != nil {
		return nil, err
	}
	v, err := r.a.Catalog.MediaVersionAdd(ctx, &catalog.MediaVersionAddParams{TenantID: tenant, MediaID: mediaID, Kind: catalog.VersionEdit,
		Author: reviewer, Round: rv.Round, Body: body, After: version, Note: editNote(applied)})
	if err != nil {
		return nil, err
	}
	r.heartbeat(ctx, rv)
	return v, nil
}

func editNote(es []pipeline.Edit) string {
	ops := map[string]int{}
	var order []string
	for _, e := range es {
		if ops[e.Op] == 0 {
			order = append(order, e.Op)
		}
		ops[e.Op]++
	}
	parts := make([]string, len(order))
	for i, op := range order {
		parts[i] = fmt.Sprintf("%d %s", ops[op], op)
	}
	return "edited " + strings.Join(parts, ", ")
}

func (r reviews) Decide(ctx context.Context, tenant, mediaID, reviewer string, d *apiserver.ReviewDecision) (*catalog.Review, error) {
	rv, err := r.a.Catalog.ReviewGet(ctx, &catalog.ReviewGetParams{TenantID: tenant, MediaID: mediaID})
	if err != nil {
		return nil, err
	}
	p := &catalog.ReviewDecideParams{TenantID: tenant, MediaID: mediaID, Reviewer: reviewer, Round: d.Round, Outcome: d.Outcome,
		Reason: d.Reason, Step: d.Step, Vocabulary: d.Vocabulary}
	if err := catalog.ValidateReviewDecide(p); err != nil {
		return nil, err
	}
	if rv.State != catalog.ReviewOpen {
		// Refuse before touching anything: a double click, a second
		// reviewer, a decision after the item moved on.
		_, err := r.a.Catalog.ReviewDecide(ctx, p)
		return nil, err
	}
	if d.Outcome == catalog.OutcomeChangesRequested {
		switch d.Step {
		case pipeline.StepTranscribe:
			m, err := r.a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: mediaID, TenantID: tenant})
			if err != nil {
				return nil, err
			}
			if m.TranscriptKey == "" {
				return nil, errcode.New(errcode.Invalid, "step: media %s has no transcript to run again (kind %s)", mediaID, m.Kind)
			}
		case pipeline.StepSummarise:
		default:
			return nil, errcode.New(errcode.Invalid, "step: %q (want transcribe or summarise)", d.Step)
		}
	}
	if len(d.Edits) > 0 {
		if d.Outcome != catalog.OutcomeApproved {
			return nil, errcode.New(errcode.Invalid, "edits: only an approval carries edits")
		}
		if _, err := r.Edit(ctx, tenant, mediaID, reviewer, d.After, d.Edits); err != nil {
			return nil, err
		}
	}
	vs, err := r.a.Catalog.MediaVersionList(ctx, &catalog.MediaVersionListParams{TenantID: tenant, MediaID: mediaID})
	if err != nil {
		return nil, err
	}
	if len(vs) > 0 {
		p.Version = vs[len(vs)-1].Version
	}
	ev, err := pipeline.ReviewEvent(pipeline.EventReviewDecided, map[string]any{"media_id": mediaID, "tenant": tenant,
		"outcome": d.Outcome, "reviewer": reviewer, "round": rv.Round, "reason": d.Reason})
	if err != nil {
		return nil, err
	}
	p.Events = []catalog.OutboxEvent{ev}
	decided, err := r.a.Catalog.ReviewDecide(ctx, p)
	if err != nil {
		return nil, err
	}
	r.a.Bus.Notify()
	// A process killed here leaves the decision recorded and the
	// execution waiting: the resumer of any process hands it over.
	crashpoint.Reach(CrashReviewDecided)
	return r.resume(ctx, decided)
}

// The points where crash tests stop a process applying a decision
// (internal/crashpoint): after the decision is recorded and before its
// execution is resumed, and after the resume and before it is recorded.
const (
	CrashReviewDecided = "review.decided"
	CrashReviewResumed = "review.resumed"
)

// resume hands a DECIDED item's decision to its execution and records
// the outcome. A task that already ended (timed out and escalated, or
// stopped) refuses the decision: the item goes back to OPEN and the
// caller gets FailedPrecond saying so. A task that ended because this
// decision already reached it (a process stopped after the resume and
// before recording it) is recorded as resumed. Other errors leave the
// item DECIDED for the resumer to retry.
func (r reviews) resume(ctx context.Context, rv *catalog.Review) (*catalog.Review, error) {
	d := rv.Decision
	out, _ := json.Marshal(pipeline.ReviewOutcome{Outcome: d.Outcome, Reason: d.Reason, Reviewer: d.Reviewer, Round: d.Round,
		Version: d.Version, Step: d.Step, Vocabulary: d.Vocabulary})
	err := r.a.Engine.SendTaskSuccess(ctx, rv.TaskToken, out)
	if err == nil {
		crashpoint.Reach(CrashReviewResumed)
	} else if errors.Is(err, workflow.ErrTaskTimedOut) {
		// Only this round's decision settles its token (it never leaves
		// the server), so a task that succeeded took this decision.
		if took, terr := r.a.Engine.TaskSucceeded(ctx, rv.TaskToken); terr == nil && took {
			r.a.Log.Info("review: decision had reached its execution before a restart", "media_id", rv.MediaID, "round", d.Round)
			err = nil
		}
	}
	switch {
	case err == nil:
		done, err := r.a.Catalog.ReviewResumed(ctx, &catalog.ReviewResumedParams{TenantID: rv.TenantID, MediaID: rv.MediaID, Round: d.Round})
		if err != nil {
			return rv, nil // resumed; the resumer records it later
		}
		r.a.Log.Info("review: decision applied", "media_id", rv.MediaID, "tenant", rv.TenantID, "outcome", d.Outcome, "reviewer", d.Reviewer)
		return done, nil
	case errors.Is(err, workflow.ErrTaskTimedOut), errors.Is(err, workflow.ErrTaskDoesNotExist):
		why := fmt.Sprintf("the round-%d review task had already ended (it timed out and was escalated, or its execution stopped) when %s decided %s; nothing was applied",
			d.Round, d.Reviewer, d.Outcome)
		if _, rerr := r.a.Catalog.ReviewResumed(ctx, &catalog.ReviewResumedParams{TenantID: rv.TenantID, MediaID: rv.MediaID,
			Round: d.Round, Refusal: why}); rerr != nil {
			return nil, rerr
		}
		r.a.Log.Warn("review: decision refused", "media_id", rv.MediaID, "tenant", rv.TenantID, "err", err)
		return nil, errcode.New(errcode.FailedPrecond, "review of media %s: %s", rv.MediaID, why)
	default:
		r.a.Log.Warn("review: resume failed; will retry", "media_id", rv.MediaID, "err", err)
		return rv, nil
	}
}

// resumeDecided resumes decisions that were recorded but not handed to
// their execution (a process stopped in between), each once.
func (r reviews) resumeDecided(ctx context.Context, olderThan time.Duration) (int, error) {
	list, err := r.a.Catalog.ReviewUnresumed(ctx, &catalog.ReviewUnresumedParams{Before: time.Now().Add(-olderThan)})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, rv := range list {
		if _, err := r.resume(ctx, rv); err != nil && errcode.Of(err) != errcode.FailedPrecond {
			return n, err
		}
		n++
	}
	return n, nil
}

// ReviewResumeEvery is how often the api and all roles look for review
// decisions recorded but not handed to their execution.
var ReviewResumeEvery = 5 * time.Second

func (a *App) runReviewResumer(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	r := reviews{a}
	for {
		if n, err := r.resumeDecided(ctx, every); err != nil && ctx.Err() == nil {
			a.Log.Error("review: resume decided items", "err", err)
		} else if n > 0 {
			a.Log.Info("review: resumed decided items", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r reviews) Versions(ctx context.Context, tenant, mediaID string) ([]*catalog.MediaVersion, error) {
	return r.a.Catalog.MediaVersionList(ctx, &catalog.MediaVersionListParams{TenantID: tenant, MediaID: mediaID})
}

// Feedback is one line of the decisions export: what the machine
// produced, what the reviewers made of it, and why the item was reviewed.
type Feedback struct {
	MediaID  string                  `json:"media_id"`
	Filename string                  `json:"filename,omitempty"`
	Kind     types.Kind              `json:"kind,omitempty"`
	Reasons  []catalog.ReviewReason  `json:"reasons"`
	Decision *catalog.ReviewDecision `json:"decision"`
	Machine  *pipeline.ReviewDoc     `json:"machine"`
	Reviewed *pipeline.ReviewDoc     `json:"reviewed"`
	Edits    []pipeline.Edit         `json:"edits"`
}

// Export writes one JSON line per decided item of tenant: the machine's
// output, the reviewed version and the reasons (training data).
func (r reviews) Export(ctx context.Context, tenant string, emit func(v any) error) error {
	s, err := r.scope(tenant)
	if err != nil {
		return err
	}
	cursor := ""
	for {
		page, err := r.a.Catalog.ReviewList(ctx, &catalog.ReviewListParams{TenantID: tenant, State: "all", Sort: catalog.ReviewSortAge,
			Limit: 100, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, rv := range page.Reviews {
			if rv.Decision == nil {
				continue
			}
			fb, err := r.feedback(ctx, s, rv)
			if err != nil {
				return err
			}
			if err := emit(fb); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		cursor = page.Next
	}
}

func (r reviews) feedback(ctx context.Context, s *pipeline.Scope, rv *catalog.Review) (*Feedback, error) {
	vs, err := r.a.Catalog.MediaVersionList(ctx, &catalog.MediaVersionListParams{TenantID: rv.TenantID, MediaID: rv.MediaID})
	if err != nil {
		return nil, err
	}
	fb := &Feedback{MediaID: rv.MediaID, Filename: rv.Filename, Kind: rv.Kind, Reasons: rv.Reasons, Decision: rv.Decision, Edits: []pipeline.Edit{}}
	upTo := rv.Decision.Version
	var machine int64
	for _, v := range vs {
		if upTo != 0 && v.Version > upTo {
			break
		}
		switch v.Kind {
		case catalog.VersionMachine:
			machine, fb.Edits = v.Version, []pipeline.Edit{}
		case catalog.VersionEdit:
			var es []pipeline.Edit
			if json.Unmarshal(v.Body, &es) == nil {
				fb.Edits = append(fb.Edits, es...)
			}
		}
	}
	if machine == 0 {
		return fb, nil
	}
	if fb.Machine, _, err = pipeline.CurrentReviewDoc(ctx, s, r.a.Catalog, rv.MediaID, machine); err != nil {
		return nil, err
	}
	if upTo == 0 {
		upTo = machine
	}
	if fb.Reviewed, _, err = pipeline.CurrentReviewDoc(ctx, s, r.a.Catalog, rv.MediaID, upTo); err != nil {
		return nil, err
	}
	return fb, nil
}

func (r reviews) Vocabulary(ctx context.Context, tenant, state string) ([]*catalog.VocabularyTerm, error) {
	return r.a.Catalog.VocabularyList(ctx, &catalog.VocabularyListParams{TenantID: tenant, State: state})
}

func (r reviews) AcceptVocabulary(ctx context.Context, p *catalog.VocabularyAcceptParams) ([]*catalog.VocabularyTerm, error) {
	return r.a.Catalog.VocabularyAccept(ctx, p)
}
