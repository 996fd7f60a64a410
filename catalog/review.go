package catalog

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ReviewStore is the human review queue and the versions of reviewed
// results. A media item has at most one review item; each time the
// pipeline waits for a decision on it (a first review, an escalation
// after a timeout, a review after requested changes) the item is opened
// for a new round with the task token that decision resumes.
//
// A decision is taken exactly once per round: ReviewDecide moves an OPEN
// item to DECIDED in one guarded update, so of two reviewers (or two
// clicks) deciding the same round one wins and the other gets
// errcode.FailedPrecond naming the decision already taken. The caller then
// resumes the execution and records that with ReviewResumed; a decision
// whose execution was not resumed (a process killed in between) is found
// by ReviewUnresumed and resumed again.
//
// Media versions are append-only: the catalog has no method that changes
// or removes one (deleting the media item removes its versions with it).
type ReviewStore interface {
	// ReviewOpen puts a media item in the queue, or opens its next round:
	// state OPEN, Round one more than before, the new task token, the
	// claim and any earlier decision cleared. Events go to the outbox in
	// the same transaction.
	ReviewOpen(ctx context.Context, p *ReviewOpenParams) (*Review, error)
	ReviewGet(ctx context.Context, p *ReviewGetParams) (*Review, error)
	// ReviewList lists one tenant's review items, by default the OPEN ones
	// by priority (highest first) then age (oldest first).
	ReviewList(ctx context.Context, p *ReviewListParams) (*ReviewPage, error)
	// ReviewCounts counts one tenant's OPEN items, in all and per reason.
	ReviewCounts(ctx context.Context, p *ReviewCountsParams) (*ReviewCounts, error)
	// ReviewClaim gives an OPEN item to one reviewer until the lease runs
	// out; claiming an item another reviewer holds is
	// errcode.FailedPrecond until that claim expires. The holder may claim
	// again to extend its lease.
	ReviewClaim(ctx context.Context, p *ReviewClaimParams) (*Review, error)
	// ReviewRelease returns a claimed item to the queue.
	ReviewRelease(ctx context.Context, p *ReviewReleaseParams) (*Review, error)
	// ReviewDecide records a decision on an OPEN item and moves it to
	// DECIDED, with its events, in one transaction.
	ReviewDecide(ctx context.Context, p *ReviewDecideParams) (*Review, error)
	// ReviewResumed records what became of a decision: the execution took
	// it (the item is DONE), or refused it because the round's task had
	// ended (the item goes back to OPEN, the decision dropped, and
	// Refusal says why). Only the given round of a DECIDED item changes.
	ReviewResumed(ctx context.Context, p *ReviewResumedParams) (*Review, error)
	// ReviewUnresumed lists DECIDED items of every tenant decided before
	// Before and not yet resumed, oldest first.
	ReviewUnresumed(ctx context.Context, p *ReviewUnresumedParams) ([]*Review, error)

	// MediaVersionAdd appends a version of a media item's reviewed
	// results. When After is set it must be the latest version, or the
	// add fails with ErrVersionConflict (an edit made on a stale copy).
	MediaVersionAdd(ctx context.Context, p *MediaVersionAddParams) (*MediaVersion, error)
	// MediaVersionList lists a media item's versions, oldest first.
	MediaVersionList(ctx context.Context, p *MediaVersionListParams) ([]*MediaVersion, error)

	// VocabularySuggest records terms reviewers' corrections suggest for
	// the tenant's custom vocabulary.
	VocabularySuggest(ctx context.Context, p *VocabularySuggestParams) error
	// VocabularyList lists the tenant's terms, most suggested first.
	VocabularyList(ctx context.Context, p *VocabularyListParams) ([]*VocabularyTerm, error)
	// VocabularyAccept makes suggestions part of the tenant's vocabulary
	// (used by every later transcription) and returns the terms accepted.
	VocabularyAccept(ctx context.Context, p *VocabularyAcceptParams) ([]*VocabularyTerm, error)
}

// Review item states.
const (
	ReviewOpen    = "OPEN"    // in the queue, waiting for a decision
	ReviewDecided = "DECIDED" // decided; the execution is being resumed
	ReviewDone    = "DONE"    // decided and the execution resumed
)

// Review outcomes.
const (
	OutcomeApproved         = "approved"
	OutcomeRejected         = "rejected"
	OutcomeChangesRequested = "changes_requested"
)

// Review reasons: why an item is in the queue.
const (
	ReasonTenantPolicy        = "tenant_policy"         // the tenant reviews everything
	ReasonLowConfidence       = "low_confidence"        // the transcript's confidence is below the threshold
	ReasonModeration          = "moderation"            // a moderation label is above the threshold
	ReasonLowConfidenceResult = "low_confidence_result" // entities or summary marked low-confidence
	ReasonVocabularyMissed    = "vocabulary_missed"     // an expected vocabulary term was not heard
	ReasonChangesRequested    = "changes_requested"     // back from a requested change
	ReasonEscalated           = "escalated"             // the review timed out and was escalated
)

// ReviewReason is one reason an item is in the queue.
type ReviewReason struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// Times are the media times (seconds) the reason points at: a
	// moderation label's frames, a low-confidence stretch.
	Times []float64 `json:"times,omitempty"`
}

// ReviewDecision is a reviewer's decision.
type ReviewDecision struct {
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason,omitempty"`
	Reviewer string    `json:"reviewer"`
	At       time.Time `json:"at"`
	Round    int       `json:"round"`
	// Version is the media version approved (the latest when decided).
	Version int64 `json:"version,omitempty"`
	// Step is the step a change request re-runs ("transcribe",
	// "summarise"), and Vocabulary the words it adds.
	Step       string   `json:"step,omitempty"`
	Vocabulary []string `json:"vocabulary,omitempty"`
}

// Review is a media item's entry in the review queue.
type Review struct {
	MediaID     string         `json:"media_id"`
	TenantID    string         `json:"tenant_id"`
	Filename    string         `json:"filename,omitempty"`
	Kind        types.Kind     `json:"kind,omitempty"`
	State       string         `json:"state"`
	Reasons     []ReviewReason `json:"reasons"`
	Priority    int            `json:"priority"`
	Round       int            `json:"round"`
	Escalations int            `json:"escalations"`
	ExecutionID string         `json:"execution_id,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	OpenedAt    time.Time      `json:"opened_at"`
	DueAt       *time.Time     `json:"due_at,omitempty"`
	ClaimedBy   string         `json:"claimed_by,omitempty"`
	// ClaimExpiresAt is when the claim lapses; a lapsed claim is shown
	// as no claim.
	ClaimExpiresAt *time.Time      `json:"claim_expires_at,omitempty"`
	Decision       *ReviewDecision `json:"decision,omitempty"`
	ResumedAt      *time.Time      `json:"resumed_at,omitempty"`
	// Refusal says why the last decision was not applied (its task had
	// ended); cleared by the next decision.
	Refusal string `json:"refusal,omitempty"`
	// TaskToken resumes the round's execution; it never leaves the server.
	TaskToken string `json:"-"`
}

// VisibleTo reports whether a reviewer key whose decisions are recorded
// as reviewer may see the item: while it waits in the queue (OPEN), and
// after, when its current decision is that reviewer's.
func (r *Review) VisibleTo(reviewer string) bool {
	return r.State == ReviewOpen || reviewer != "" && r.Decision != nil && r.Decision.Reviewer == reviewer
}

// HasReason reports whether the item is queued for code.
func (r *Review) HasReason(code string) bool {
	for _, x := range r.Reasons {
		if x.Code == code {
			return true
		}
	}
	return false
}

// ReviewOpenParams open a review round for a media item of TenantID.
type ReviewOpenParams struct {
	TenantID    string
	MediaID     string
	Filename    string
	Kind        types.Kind
	Reasons     []ReviewReason
	Priority    int
	ExecutionID string
	TaskToken   string
	// DueAt, when set, is when the round's task times out.
	DueAt time.Time
	// Escalate counts the round as an escalation.
	Escalate bool
	Events   []OutboxEvent
}

type ReviewGetParams struct {
	TenantID string
	MediaID  string
}

// Review list orders.
const (
	ReviewSortPriority = "priority" // highest priority first, then oldest
	ReviewSortAge      = "age"      // oldest first
	ReviewSortDue      = "due"      // soonest due first (items without a due time last)
)

// ReviewListParams filter one tenant's review items. State defaults to
// OPEN ("all" lists every state); Reason and Kind keep items with that
// reason or media kind; OlderThan keeps items opened at least that long
// ago. Limit defaults to 50, at most 500; Cursor is ReviewPage.Next.
// VisibleTo, when set, is a reviewer's name (ReviewDecision.Reviewer):
// only OPEN items and those whose current decision that reviewer took
// are listed, as a reviewer key sees the queue.
type ReviewListParams struct {
	TenantID  string
	VisibleTo string
	State     string
	Reason    string
	Kind      types.Kind
	OlderThan time.Duration
	Sort      string
	Limit     int
	Cursor    string
}

type ReviewPage struct {
	Reviews []*Review `json:"reviews"`
	Next    string    `json:"next,omitempty"`
}

type ReviewCountsParams struct{ TenantID string }

// ReviewCounts counts OPEN items.
type ReviewCounts struct {
	Open     int64            `json:"open"`
	Claimed  int64            `json:"claimed"`
	ByReason map[string]int64 `json:"by_reason"`
}

// ReviewClaimParams claim an item for Reviewer for Lease (default 15
// minutes, at most 24 hours).
type ReviewClaimParams struct {
	TenantID string
	MediaID  string
	Reviewer string
	Lease    time.Duration
}

// ReviewReleaseParams release Reviewer's claim; Force releases anyone's.
type ReviewReleaseParams struct {
	TenantID string
	MediaID  string
	Reviewer string
	Force    bool
}

// ReviewDecideParams decide an OPEN item. Round, when non-zero, must be
// the item's round (a decision made on a page showing an earlier round is
// refused). A reason is required to reject. Version is the media version
// approved.
type ReviewDecideParams struct {
	TenantID   string
	MediaID    string
	Reviewer   string
	Round      int
	Outcome    string
	Reason     string
	Version    int64
	Step       string
	Vocabulary []string
	Events     []OutboxEvent
}

// ReviewResumedParams record what became of Round's decision.
type ReviewResumedParams struct {
	TenantID string
	MediaID  string
	Round    int
	// Refusal, when set, is why the execution refused the decision; the
	// item goes back to OPEN.
	Refusal string
	Events  []OutboxEvent
}

type ReviewUnresumedParams struct {
	Before time.Time
	Limit  int
}

// Media version kinds.
const (
	VersionMachine  = "machine"  // what the analysers produced (one per review round)
	VersionEdit     = "edit"     // a reviewer's edits
	VersionApproved = "approved" // the version a reviewer approved
	VersionRejected = "rejected" // a reviewer rejected the item
	// VersionLive is the transcript a live caption session made of the
	// recording, kept beside the batch analysis (Body: LiveVersion).
	VersionLive = "live"
)

// LiveVersion is the body of a VersionLive version.
type LiveVersion struct {
	// Transcript is the live transcript's key in the bucket
	// (processed/<tenant>/<media id>/transcript.live.json).
	Transcript string `json:"transcript"`
	SessionID  string `json:"session_id"`
	// Engine and Model recognised the session; Speakers says how its
	// words got speaker labels ("engine", "channel" or "").
	Engine       string  `json:"engine"`
	Model        string  `json:"model,omitempty"`
	Speakers     string  `json:"speakers,omitempty"`
	Words        int     `json:"words"`
	AudioSeconds float64 `json:"audio_seconds"`
}

// MediaVersion is one entry of a media item's version history.
type MediaVersion struct {
	MediaID   string    `json:"media_id"`
	TenantID  string    `json:"tenant_id"`
	Version   int64     `json:"version"`
	Kind      string    `json:"kind"`
	Author    string    `json:"author"`
	Round     int       `json:"round"`
	CreatedAt time.Time `json:"created_at"`
	// Body is the version's content: the stored documents of a machine
	// version, the changes (each with before and after) of an edit.
	Body json.RawMessage `json:"body,omitempty"`
	Note string          `json:"note,omitempty"`
}

// MediaVersionAddParams append a version. Body must be JSON (at most
// 1 MiB).
type MediaVersionAddParams struct {
	TenantID string
	MediaID  string
	Kind     string
	Author   string
	Round    int
	Body     json.RawMessage
	Note     string
	After    int64
}

type MediaVersionListParams struct {
	TenantID string
	MediaID  string
}

var reasonCodeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// ValidReasonCode reports whether code looks like a reason code.
func ValidReasonCode(code string) bool { return reasonCodeRE.MatchString(code) }

// ValidateReviewOpen checks ReviewOpenParams.
func ValidateReviewOpen(p *ReviewOpenParams) error {
	if err := ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return err
	}
	if err := ValidateID("media_id", p.MediaID); err != nil {
		return err
	}
	if len(p.Reasons) == 0 {
		return invalid("catalog: reasons: an item needs at least one reason to be reviewed")
	}
	if len(p.Reasons) > 32 {
		return invalid("catalog: reasons: at most 32")
	}
	for i, r := range p.Reasons {
		if !reasonCodeRE.MatchString(r.Code) {
			return invalid("catalog: reasons/%d/code: %q is not a reason code (a-z, 0-9, _)", i, r.Code)
		}
		if err := ValidateText("reasons/"+strconv.Itoa(i)+"/detail", r.Detail, 2000); err != nil {
			return err
		}
		if len(r.Times) > 1000 {
			return invalid("catalog: reasons/%d/times: at most 1000", i)
		}
	}
	if p.TaskToken == "" || len(p.TaskToken) > 1024 {
		return invalid("catalog: task_token: required, at most 1024 bytes")
	}
	if err := ValidateText("filename", p.Filename, 1024); err != nil {
		return err
	}
	if err := ValidateText("execution_id", p.ExecutionID, 2048); err != nil {
		return err
	}
	if p.Priority < -1000 || p.Priority > 1000 {
		return invalid("catalog: priority: %d is outside -1000..1000", p.Priority)
	}
	return nil
}

// ValidateReviewDecide checks ReviewDecideParams.
func ValidateReviewDecide(p *ReviewDecideParams) error {
	if err := ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return err
	}
	if err := ValidateID("media_id", p.MediaID); err != nil {
		return err
	}
	if p.Reviewer == "" {
		return invalid("catalog: reviewer: required")
	}
	if err := ValidateText("reviewer", p.Reviewer, 200); err != nil {
		return err
	}
	switch p.Outcome {
	case OutcomeApproved, OutcomeChangesRequested:
	case OutcomeRejected:
		if len(strings.TrimSpace(p.Reason)) == 0 {
			return invalid("catalog: reason: a rejection needs a reason")
		}
	default:
		return invalid("catalog: outcome: %q (want approved, rejected or changes_requested)", p.Outcome)
	}
	if p.Outcome == OutcomeChangesRequested && p.Step == "" {
		return invalid("catalog: step: a change request names the step to run again")
	}
	if err := ValidateText("reason", p.Reason, 2000); err != nil {
		return err
	}
	if err := ValidateText("step", p.Step, 64); err != nil {
		return err
	}
	if len(p.Vocabulary) > 500 {
		return invalid("catalog: vocabulary: at most 500 terms")
	}
	for i, v := range p.Vocabulary {
		if err := ValidateText("vocabulary/"+strconv.Itoa(i), v, 200); err != nil {
			return err
		}
	}
	return nil
}

// ValidateMediaVersionAdd checks MediaVersionAddParams.
func ValidateMediaVersionAdd(p *MediaVersionAddParams) error {
	if err := ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return err
	}
	if err := ValidateID("media_id", p.MediaID); err != nil {
		return err
	}
	switch p.Kind {
	case VersionMachine, VersionEdit, VersionApproved, VersionRejected, VersionLive:
	default:
		return invalid("catalog: kind: %q (want machine, edit, approved, rejected or live)", p.Kind)
	}
	if p.Author == "" {
		return invalid("catalog: author: required")
	}
	if err := ValidateText("author", p.Author, 200); err != nil {
		return err
	}
	if err := ValidateText("note", p.Note, 2000); err != nil {
		return err
	}
	if len(p.Body) > 0 && !json.Valid(p.Body) {
		return invalid("catalog: body: not JSON")
	}
	if len(p.Body) > 1<<20 {
		return invalid("catalog: body: larger than 1 MiB")
	}
	return ValidateText("body", string(p.Body), 0)
}

// ReviewRefused is the error of a review action the item's state refuses.
func ReviewRefused(format string, args ...any) error {
	return errcode.New(errcode.FailedPrecond, "catalog: "+format, args...)
}

// VocabularyTerm is a word or name of a tenant's custom vocabulary: a
// suggestion from reviewers' corrections until a tenant admin accepts it.
type VocabularyTerm struct {
	TenantID   string     `json:"tenant_id"`
	Term       string     `json:"term"`
	State      string     `json:"state"`  // VocabularySuggested or VocabularyAccepted
	Source     string     `json:"source"` // "word" (a corrected word) or "speaker" (a speaker's name)
	MediaID    string     `json:"media_id,omitempty"`
	Count      int        `json:"count"` // how many corrections suggested it
	CreatedAt  time.Time  `json:"created_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	AcceptedBy string     `json:"accepted_by,omitempty"`
}

// Vocabulary term states.
const (
	VocabularySuggested = "suggested"
	VocabularyAccepted  = "accepted"
)

// VocabularySuggestParams add suggestions; a term already known (in any
// case) counts once more and keeps its state.
type VocabularySuggestParams struct {
	TenantID string
	Terms    []VocabularyTerm
}

// VocabularyListParams list a tenant's terms, of one state or all ("").
type VocabularyListParams struct {
	TenantID string
	State    string
}

// VocabularyAcceptParams accept suggested terms (All: every suggestion).
type VocabularyAcceptParams struct {
	TenantID string
	Terms    []string
	All      bool
	By       string
}

// ValidateVocabularyTerm checks one term: 1–100 bytes of text on one line.
func ValidateVocabularyTerm(field, term string) error {
	if strings.TrimSpace(term) == "" || len(term) > 100 || strings.ContainsAny(term, "\n\r\t,") {
		return invalid("catalog: %s: a term is 1–100 bytes on one line, without commas", field)
	}
	return ValidateText(field, term, 100)
}
