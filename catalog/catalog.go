// Package catalog is Landfall's metadata store: one record per media item
// keyed by media id, the failures table, full-text search over summaries and
// time-coded transcript chunks, the usage ledger, tenants and API keys, and
// the event outbox that the bus writes in the same transaction as a media
// row.
//
// The portable surface is the Store interface. Drivers register a URL scheme
// in init and are chosen by Open:
//
//	import _ "github.com/landfall/landfall/catalog/sqlite"
//	st, err := catalog.Open(ctx, "sqlite:///var/lib/landfall/landfall.db")
//
//	import _ "github.com/landfall/landfall/catalog/postgres"
//	st, err := catalog.Open(ctx, "postgres://u@host/db?schema=landfall")
//
// Every method is named Noun+Verb and takes a context and a *XxxParams. Bad
// input returns an errcode.Invalid error naming the field; a missing thing
// errcode.NotFound; a forbidden status change or a stale version
// errcode.FailedPrecond (the latter also matches ErrVersionConflict).
//
// Search indexes the summary of each media item as one chunk and its
// transcript as time-coded chunks of a few sentences (ChunkTranscript).
// User queries are sanitised by ParseQuery into words, phrases, OR, NOT and
// prefixes, so no input is a database syntax error. Both drivers stem
// English (FTS5's porter tokenizer; PostgreSQL's english configuration,
// which also drops stop words, so a query of only "the" finds nothing
// there). Scores are comparable within one result list only. A query that
// matches more than MaxRankedMatches chunks of a tenant ranks the newest
// ones.
//
// Tables are prefixed cat_ so the catalog can share a database with the
// workflow engine (wf_, river_*). Each driver embeds and applies its own
// migrations when opened.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/types"
)

// Store is the catalog. Implementations are safe for concurrent use.
type Store interface {
	// Name is the driver's name: "sqlite" or "postgres".
	Name() string

	TenantCreate(ctx context.Context, p *TenantCreateParams) (*Tenant, error)
	TenantGet(ctx context.Context, p *TenantGetParams) (*Tenant, error)
	TenantList(ctx context.Context, p *TenantListParams) ([]*Tenant, error)
	// TenantDisable stops a tenant's keys working at once (every lookup
	// reads the tenant row); its data stays. Disabling twice keeps the
	// first time.
	TenantDisable(ctx context.Context, p *TenantDisableParams) (*Tenant, error)
	// TenantEnable makes a disabled tenant's keys work again.
	TenantEnable(ctx context.Context, p *TenantEnableParams) (*Tenant, error)
	// TenantDelete removes a tenant and its keys. A tenant that still has
	// media, failures or usage is errcode.FailedPrecond: disable it instead.
	TenantDelete(ctx context.Context, p *TenantDeleteParams) error

	// APIKeyCreate makes a new key: an admin or operator key, or a tenant
	// or reviewer key of one tenant. The plaintext key is in the result
	// only; the store keeps its SHA-256.
	APIKeyCreate(ctx context.Context, p *APIKeyCreateParams) (*APIKeyCreateResult, error)
	// APIKeyLookup finds the live key matching a plaintext key (Key) or a
	// key id (ID, for request signatures the caller verifies). A malformed,
	// unknown, revoked or expired key is errcode.Unauthenticated; a key of
	// a disabled tenant is errcode.PermissionDenied. It always reads the
	// database, so a revocation or a disabled tenant holds on every process
	// from the next request.
	APIKeyLookup(ctx context.Context, p *APIKeyLookupParams) (*APIKey, error)
	// APIKeyList lists keys (never a secret), of one tenant or all.
	APIKeyList(ctx context.Context, p *APIKeyListParams) ([]*APIKey, error)
	// APIKeyRevoke ends a key for good. Revoking twice keeps the first time.
	APIKeyRevoke(ctx context.Context, p *APIKeyRevokeParams) (*APIKey, error)
	// APIKeyRotate replaces a live key's secret: the id stays, the
	// generation goes up by one, and the old plaintext stops working.
	APIKeyRotate(ctx context.Context, p *APIKeyRotateParams) (*APIKeyCreateResult, error)
	// APIKeyExpire sets the time a key stops working.
	APIKeyExpire(ctx context.Context, p *APIKeyExpireParams) (*APIKey, error)

	// MediaCreate inserts a media row and, in the same transaction, its
	// outbox events.
	MediaCreate(ctx context.Context, p *MediaCreateParams) (*Media, error)
	MediaGet(ctx context.Context, p *MediaGetParams) (*Media, error)
	// MediaStoredBytes is the sum of the sizes of a tenant's media items.
	MediaStoredBytes(ctx context.Context, p *MediaStoredBytesParams) (int64, error)
	// MediaUpdate changes a media row: a guarded status transition,
	// optimistic concurrency on Version, the summary chunk and, when
	// Transcript is set, the transcript chunks of the search index.
	MediaUpdate(ctx context.Context, p *MediaUpdateParams) (*Media, error)
	// MediaList lists one tenant's media newest first from the
	// (tenant, status|kind, created) indexes, one page at a time.
	MediaList(ctx context.Context, p *MediaListParams) (*MediaPage, error)
	// MediaListPlan returns the database's query plan for the MediaList
	// query with these parameters (EXPLAIN QUERY PLAN / EXPLAIN).
	MediaListPlan(ctx context.Context, p *MediaListParams) (string, error)
	// MediaDelete removes a media row and its search chunks and, with
	// Failures set, its failures. Usage entries stay: they are the
	// tenant's history. It says how many rows of each it removed.
	MediaDelete(ctx context.Context, p *MediaDeleteParams) (*MediaDeleteResult, error)

	// FailureRecord appends to the failures table and, when UpdateMedia is
	// set, marks the media FAILED in the same transaction.
	FailureRecord(ctx context.Context, p *FailureRecordParams) (*Failure, error)
	FailureGet(ctx context.Context, p *FailureGetParams) (*Failure, error)
	FailureList(ctx context.Context, p *FailureListParams) (*FailurePage, error)
	FailureMarkRedriven(ctx context.Context, p *FailureMarkRedrivenParams) (*Failure, error)

	// SearchQuery runs a full-text query over one tenant's summaries and
	// transcript chunks, best first. The query is sanitised by ParseQuery.
	SearchQuery(ctx context.Context, p *SearchQueryParams) ([]*SearchHit, error)

	UsageRecord(ctx context.Context, p *UsageRecordParams) error
	UsageTotals(ctx context.Context, p *UsageTotalsParams) (*UsageReport, error)

	// OutboxInsert adds events on their own (events tied to a media row go
	// through MediaCreate or MediaUpdate).
	OutboxInsert(ctx context.Context, p *OutboxInsertParams) error
	// OutboxClaim leases up to Limit available events, oldest first, to one
	// dispatcher; an event whose lease runs out is claimable again.
	OutboxClaim(ctx context.Context, p *OutboxClaimParams) ([]*OutboxEvent, error)
	// OutboxAck deletes delivered events of a claim. Events whose claim was
	// lost (lease expired and reclaimed) are not touched; the count says how
	// many were acknowledged.
	OutboxAck(ctx context.Context, p *OutboxAckParams) (int, error)
	// OutboxRelease returns events of a claim to the queue, available again
	// after Delay, recording Error.
	OutboxRelease(ctx context.Context, p *OutboxReleaseParams) (int, error)
	// DeliveryMark records that consumer handled eventID and reports whether
	// this is the first time, so targets can be idempotent.
	DeliveryMark(ctx context.Context, p *DeliveryMarkParams) (first bool, err error)
	// DeliveryPrune forgets delivery marks older than Before.
	DeliveryPrune(ctx context.Context, p *DeliveryPruneParams) (int, error)

	RuleStore
	ReviewStore
	JobStore

	Close() error
}

// ErrVersionConflict is in the chain of the errcode.FailedPrecond error
// returned when an update names a Version that is no longer current.
var ErrVersionConflict = errors.New("version conflict")

// ErrClosed is returned by a store's methods after Close.
var ErrClosed = errcode.New(errcode.FailedPrecond, "catalog: store is closed")

// Options configure a store.
type Options struct {
	// Now is the clock; time.Now when nil. Tests set it.
	Now func() time.Time
}

// Option changes Options.
type Option func(*Options)

// WithClock sets the store's clock.
func WithClock(now func() time.Time) Option { return func(o *Options) { o.Now = now } }

// Opener opens a store for a URL of its scheme.
type Opener func(ctx context.Context, u *url.URL, opts Options) (Store, error)

var (
	regMu   sync.RWMutex
	openers = map[string]Opener{}
)

// Register makes a driver available to Open under scheme. It panics on a
// duplicate scheme.
func Register(scheme string, o Opener) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("catalog: duplicate scheme " + scheme)
	}
	openers[scheme] = o
}

// Schemes lists the registered URL schemes.
func Schemes() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	s := make([]string, 0, len(openers))
	for k := range openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Open opens the store named by rawURL ("sqlite:///path/file.db",
// "postgres://…?schema=name") and applies its migrations.
func Open(ctx context.Context, rawURL string, opts ...Option) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "catalog: database URL")
	}
	regMu.RLock()
	o := openers[u.Scheme]
	regMu.RUnlock()
	if o == nil {
		known := Schemes()
		if len(known) == 0 {
			return nil, errcode.New(errcode.Invalid, "catalog: unknown scheme %q: no drivers are linked in (import catalog/sqlite or catalog/postgres)", u.Scheme)
		}
		return nil, errcode.New(errcode.Invalid, "catalog: unknown scheme %q (known: %s)", u.Scheme, strings.Join(known, ", "))
	}
	var op Options
	for _, f := range opts {
		f(&op)
	}
	if op.Now == nil {
		op.Now = time.Now
	}
	return o(ctx, u, op)
}

// Tenant is an isolated customer of one Landfall installation.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// DisabledAt is set while the tenant is disabled: its keys do not work.
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

// TenantCreateParams create a tenant. ID is 1–63 of a-z, 0-9, '-' and '_',
// starting with a letter or digit (it appears in bucket keys).
type TenantCreateParams struct {
	ID   string
	Name string
	// IfNotExists returns the existing tenant instead of AlreadyExists.
	IfNotExists bool
}

type TenantGetParams struct{ ID string }

type TenantListParams struct{}

type TenantDisableParams struct{ ID string }

type TenantEnableParams struct{ ID string }

type TenantDeleteParams struct{ ID string }

// APIKey is an API key as stored: never the key itself.
type APIKey struct {
	ID   string        `json:"id"` // public part of the key, shown in listings
	Role identity.Role `json:"role"`
	// TenantID is the tenant of a tenant or reviewer key; empty for admin
	// and operator keys.
	TenantID  string     `json:"tenant_id,omitempty"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Generation starts at 1 and goes up by one at each rotation; secrets
	// derived from a key (its secret access key) change with it.
	Generation int64      `json:"generation"`
	RotatedAt  *time.Time `json:"rotated_at,omitempty"`
}

// Principal is who a key authenticates.
func (k *APIKey) Principal() identity.Principal {
	return identity.Principal{Role: k.Role, Tenant: k.TenantID, KeyID: k.ID}
}

// APIKeyCreateParams create a key. Role defaults to tenant; tenant and
// reviewer keys need TenantID, admin and operator keys must not have one.
type APIKeyCreateParams struct {
	Role     identity.Role
	TenantID string
	Name     string
	// ExpiresAt, when set, is when the key stops working; it must be in the
	// future.
	ExpiresAt time.Time
}

// APIKeyCreateResult carries the plaintext key, which cannot be recovered
// later.
type APIKeyCreateResult struct {
	Key    string
	APIKey *APIKey
}

// APIKeyLookupParams name a key by its plaintext or by its id (exactly
// one).
type APIKeyLookupParams struct {
	Key string
	ID  string
}

// APIKeyListParams list the keys of TenantID, or every key when it is
// empty.
type APIKeyListParams struct{ TenantID string }

// APIKeyRevokeParams name a key; a TenantID, when set, must be the key's
// tenant (a tenant acting on its own keys).
type APIKeyRevokeParams struct {
	TenantID string
	ID       string
}

// APIKeyRotateParams name a key as APIKeyRevokeParams do.
type APIKeyRotateParams struct {
	TenantID string
	ID       string
}

// APIKeyExpireParams set a key's expiry to At (which may be in the past to
// end it now).
type APIKeyExpireParams struct {
	TenantID string
	ID       string
	At       time.Time
}

// Media is one media item's record.
type Media struct {
	ID            string          `json:"id"`
	TenantID      string          `json:"tenant_id"`
	BucketKey     string          `json:"bucket_key"`
	Filename      string          `json:"filename,omitempty"`
	ContentType   string          `json:"content_type,omitempty"`
	Size          int64           `json:"size"`
	SHA256        string          `json:"sha256,omitempty"`
	Kind          types.Kind      `json:"kind,omitempty"`
	Status        types.Status    `json:"status"`
	Version       int64           `json:"version"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	Duration      float64         `json:"duration,omitempty"` // seconds
	ExecutionID   string          `json:"execution_id,omitempty"`
	Summary       string          `json:"summary,omitempty"`
	Insights      *types.Insights `json:"insights,omitempty"`
	TranscriptKey string          `json:"transcript_key,omitempty"`
	CaptionsKey   string          `json:"captions_key,omitempty"`
	Error         string          `json:"error,omitempty"`
	Cause         string          `json:"cause,omitempty"`
}

// MediaCreateParams create a media row. Status defaults to PENDING (PENDING
// and PROCESSING are allowed); ID defaults to NewMediaID(); CreatedAt to
// the store's clock.
type MediaCreateParams struct {
	ID          string
	TenantID    string
	BucketKey   string
	Filename    string
	ContentType string
	Size        int64
	SHA256      string // hex
	Kind        types.Kind
	Status      types.Status
	Duration    float64
	ExecutionID string
	CreatedAt   time.Time
	// Events are written to the outbox in the same transaction.
	Events []OutboxEvent
	// MaxTenantBytes, when positive, refuses the item with errcode.TooLarge
	// if the tenant's stored media (the sum of its items' sizes) would
	// pass it; checked in the insert's transaction, one writer per tenant.
	MaxTenantBytes int64
}

// MediaStoredBytesParams name the tenant whose stored media is summed.
type MediaStoredBytesParams struct {
	TenantID string
}

// MediaGetParams name a media item. When TenantID is set, a media item of
// another tenant is NotFound.
type MediaGetParams struct {
	ID       string
	TenantID string
}

// MediaUpdateParams change a media row. Zero fields are left unchanged.
//
// Status moves are guarded by CheckTransition. Leaving FAILED clears Error
// and Cause unless new ones are given. When Insights is set and Summary is
// empty, the summary is taken from Insights.Summary; a changed summary is
// re-indexed for search. When Transcript is set, its chunks replace the
// media's transcript chunks in the search index.
type MediaUpdateParams struct {
	ID       string
	TenantID string // optional scope
	// Version, when non-zero, must equal the row's current version or the
	// update fails with ErrVersionConflict.
	Version int64
	Status  types.Status
	// Reprocess allows leaving SUCCEEDED (to PENDING or PROCESSING).
	Reprocess     bool
	BucketKey     string
	Filename      string
	ContentType   string
	Size          int64
	SHA256        string
	Kind          types.Kind
	Duration      float64
	ExecutionID   string
	Summary       string
	Insights      *types.Insights
	TranscriptKey string
	CaptionsKey   string
	Error         string
	Cause         string
	Transcript    *types.Transcript
	// Events are written to the outbox in the same transaction.
	Events []OutboxEvent
}

// MediaListParams filter one tenant's media. Since is inclusive, Until
// exclusive; both bound CreatedAt. Limit defaults to 50 and is at most 1000.
type MediaListParams struct {
	TenantID string
	Status   types.Status
	Kind     types.Kind
	Since    time.Time
	Until    time.Time
	Limit    int
	// Cursor is MediaPage.Next of a previous call with the same filters.
	Cursor string
}

// MediaPage is one page of MediaList; Next is empty on the last page.
type MediaPage struct {
	Media []*Media `json:"media"`
	Next  string   `json:"next,omitempty"`
}

type MediaDeleteParams struct {
	ID       string
	TenantID string
	// Failures removes the item's failure rows too.
	Failures bool
}

// MediaDeleteResult counts what MediaDelete removed besides the row.
type MediaDeleteResult struct {
	SearchEntries int64 `json:"search_entries"`
	Failures      int64 `json:"failures"`
}

// Failure is a row of the failures table: one failed execution of a media
// item, as caught by the state machine.
type Failure struct {
	ID                 int64      `json:"id"`
	MediaID            string     `json:"media_id,omitempty"`
	TenantID           string     `json:"tenant_id"`
	BucketKey          string     `json:"bucket_key,omitempty"`
	ExecutionID        string     `json:"execution_id,omitempty"`
	StateName          string     `json:"state_name,omitempty"`
	ErrorName          string     `json:"error"`
	Cause              string     `json:"cause,omitempty"`
	FailedAt           time.Time  `json:"failed_at"`
	RedrivenAt         *time.Time `json:"redriven_at,omitempty"`
	RedriveExecutionID string     `json:"redrive_execution_id,omitempty"`
	// Retryable says whether redriving can help (Retryable(ErrorName)
	// when recorded).
	Retryable bool `json:"retryable"`
}

// nonRetryable are the error names of failures that redriving repeats:
// the media itself cannot be processed, or the execution's reference was
// refused.
var nonRetryable = map[string]string{
	"Media.Unsupported":           "the file is not audio, video or an image Landfall decodes",
	"Media.Corrupt":               "the file cannot be decoded",
	"Media.Empty":                 "the file has no usable content",
	"Media.TooLarge":              "the file is past the configured size, dimension or duration limits",
	"Landfall.ForbiddenReference": "the execution named an object it may not use",
	"Landfall.AlreadyProcessed":   "the media item had already finished",
	"Landfall.ObjectMissing":      "the stored file is gone",
}

// Retryable reports whether a failure with this error name may succeed
// when redriven, and when not, why.
func Retryable(errorName string) (bool, string) {
	why, ok := nonRetryable[errorName]
	return !ok, why
}

// FailureRecordParams record a failure. FailedAt defaults to now. When
// UpdateMedia is set (MediaID required), the media row moves to FAILED with
// Error=ErrorName and Cause in the same transaction. A media item has at
// most one failure per execution: recording another for the same
// MediaID and ExecutionID returns the first (still updating the media).
type FailureRecordParams struct {
	MediaID     string
	TenantID    string
	BucketKey   string
	ExecutionID string
	StateName   string
	ErrorName   string
	Cause       string
	FailedAt    time.Time
	UpdateMedia bool
}

type FailureGetParams struct {
	ID       int64
	TenantID string // optional scope
}

// FailureListParams list one tenant's failures newest first. Since is
// inclusive, Until exclusive.
type FailureListParams struct {
	TenantID string
	MediaID  string
	Since    time.Time
	Until    time.Time
	// NotRedriven keeps only failures not yet redriven.
	NotRedriven bool
	Limit       int
	Cursor      string
}

type FailurePage struct {
	Failures []*Failure `json:"failures"`
	Next     string     `json:"next,omitempty"`
}

// FailureMarkRedrivenParams mark a failure redriven by a new execution.
// Marking one twice is FailedPrecond.
type FailureMarkRedrivenParams struct {
	ID          int64
	TenantID    string // optional scope
	ExecutionID string
	At          time.Time
}

// Search sources.
const (
	SourceSummary    = "summary"
	SourceTranscript = "transcript"
	// SourceSpeaker hits are speakers a reviewer named, at the time each
	// first speaks.
	SourceSpeaker = "speaker"
)

// Snippet markers around matched words in SearchHit.Snippet. They are plain
// characters: a UI escapes the snippet, then replaces them.
const (
	SnippetOpen  = "«"
	SnippetClose = "»"
)

// MaxRankedMatches bounds the work of one search: when a query matches more
// chunks of a tenant than this, only the most recently indexed ones are
// ranked. Queries for very common words stay fast and favour recent media.
const MaxRankedMatches = 2000

// SearchQueryParams run a search in one tenant. Limit defaults to 20 and is
// at most 200. Source, when set, keeps only SourceSummary or
// SourceTranscript hits.
type SearchQueryParams struct {
	TenantID string
	Query    string
	Source   string
	Limit    int
}

// SearchHit is one matching chunk.
type SearchHit struct {
	MediaID string  `json:"media_id"`
	Source  string  `json:"source"` // SourceSummary or SourceTranscript
	Snippet string  `json:"snippet"`
	Start   float64 `json:"start"` // seconds; 0 for the summary
	End     float64 `json:"end"`
	Score   float64 `json:"score"` // higher is better; comparable within one result list
}

// UsageEntry is one line of the usage ledger.
type UsageEntry struct {
	ID           int64     `json:"id"`
	TenantID     string    `json:"tenant_id"`
	MediaID      string    `json:"media_id,omitempty"`
	Analyser     string    `json:"analyser"`
	CPUSeconds   float64   `json:"cpu_seconds"`
	AudioSeconds float64   `json:"audio_seconds"`
	Images       int64     `json:"images"`
	Tokens       int64     `json:"tokens"`
	CostUSD      float64   `json:"cost_usd"`
	RecordedAt   time.Time `json:"recorded_at"`
}

// UsageRecordParams append entries (RecordedAt defaults to now).
type UsageRecordParams struct{ Entries []UsageEntry }

// UsageTotalsParams sum one tenant's usage over [Since, Until), optionally
// for one media item.
type UsageTotalsParams struct {
	TenantID string
	MediaID  string
	Since    time.Time
	Until    time.Time
}

// UsageSum is a sum of usage entries; Analyser is empty in the grand total.
type UsageSum struct {
	Analyser     string  `json:"analyser,omitempty"`
	Entries      int64   `json:"entries"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	AudioSeconds float64 `json:"audio_seconds"`
	Images       int64   `json:"images"`
	Tokens       int64   `json:"tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

// UsageReport is the total and the per-analyser sums (by analyser name).
type UsageReport struct {
	Total      UsageSum   `json:"total"`
	ByAnalyser []UsageSum `json:"by_analyser"`
}

// OutboxEvent is an event waiting in the outbox (the type is shared with
// the bus, which delivers it). On insert only ID and Payload are read.
type OutboxEvent = types.OutboxEvent

type OutboxInsertParams struct{ Events []OutboxEvent }

// OutboxClaimParams lease up to Limit (default 100, at most 1000) events
// for Lease (default 1 minute).
type OutboxClaimParams struct {
	Limit int
	Lease time.Duration
}

type OutboxAckParams struct {
	ClaimToken string
	IDs        []string
}

type OutboxReleaseParams struct {
	ClaimToken string
	IDs        []string
	Delay      time.Duration
	Error      string
}

type DeliveryMarkParams struct {
	Consumer string
	EventID  string
}

type DeliveryPruneParams struct{ Before time.Time }

// invalid is a shorthand for an errcode.Invalid error.
func invalid(format string, args ...any) error {
	return errcode.New(errcode.Invalid, format, args...)
}

// Invalidf is errcode.Invalid with a "catalog: " prefix, for drivers.
func Invalidf(format string, args ...any) error {
	return invalid("catalog: "+format, args...)
}

func notFound(what, id string) error {
	return errcode.New(errcode.NotFound, "catalog: %s %q does not exist", what, id)
}

// NotFound returns the catalog's NotFound error for a thing and its id.
func NotFound(what, id string) error { return notFound(what, id) }

// VersionConflict returns the error for a stale Version.
func VersionConflict(id string, want, have int64) error {
	return &errcode.Error{Code: errcode.FailedPrecond,
		Message: fmt.Sprintf("catalog: media %q is at version %d, not %d", id, have, want),
		Err:     ErrVersionConflict}
}
