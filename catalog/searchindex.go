package catalog

import (
	"context"
	"time"
)

// Fields of the search index: what a SearchEntry's text is.
const (
	FieldTranscript = "transcript" // a transcript segment, with word times
	FieldOCR        = "ocr"        // text seen on screen or in an image
	FieldEntity     = "entity"     // a person, organisation or place, where mentioned
	FieldTopic      = "topic"      // a topic, where mentioned
	FieldLabel      = "label"      // an object label seen in a shot
	FieldModeration = "moderation" // a moderation label of a shot
	FieldChapter    = "chapter"    // a chapter title, spanning the chapter
	FieldSummary    = "summary"    // the summary and SEO description
	FieldFilename   = "filename"   // the uploaded file's name
)

// Fields lists the search index's fields.
var Fields = []string{FieldTranscript, FieldOCR, FieldEntity, FieldTopic, FieldLabel, FieldModeration,
	FieldChapter, FieldSummary, FieldFilename}

// SearchEntry is one time-coded piece of a media item in the search index.
type SearchEntry struct {
	ID      int64   `json:"id,omitempty"`
	MediaID string  `json:"media_id"`
	Field   string  `json:"field"`
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	Speaker string  `json:"speaker,omitempty"`
	// Value is the entry's facet value: the entity type (person,
	// organisation, place), the label or moderation name.
	Value string `json:"value,omitempty"`
	Body  string `json:"body"`
	// Phon holds one phonetic code per whitespace-separated word of Body.
	Phon string `json:"-"`
	// Times holds the start and end of each whitespace-separated word of
	// Body (2 per word), or is empty when every word spans Start..End.
	Times []float64 `json:"-"`
}

// SearchAlt is one way a query term may match: a word or phrase of body
// words (Prefix: the last word is a prefix), or, with Phon set, a phrase
// of phonetic codes.
type SearchAlt struct {
	Words  []string
	Prefix bool
	Phon   bool
}

// SearchMatchParams select candidate entries of one tenant: every group
// must match (one of its alternatives), no excluded term may. Filters are
// optional. Limit bounds the candidates returned: the newest matches.
// They are not ranked by the database (bm25 or ts_rank reads every match
// of every alternative before it can weigh one, which for a common word
// is most of the index); the caller scores them word by word.
type SearchMatchParams struct {
	TenantID string
	Groups   [][]SearchAlt
	// Any makes the groups alternatives (OR) instead of all required.
	Any     bool
	Exclude []SearchAlt
	// NotIDs leaves out these entries (those a previous call returned;
	// at most MaxNotIDs).
	NotIDs  []int64
	Fields  []string
	Speaker string
	Value   string
	MediaID string
	Kind    string
	Since   time.Time
	Until   time.Time
	Limit   int
}

// MaxNotIDs bounds SearchMatchParams.NotIDs.
const MaxNotIDs = 5000

// SearchCandidate is an entry matched by SearchEntriesMatch, with the
// media's file name, kind and creation time.
type SearchCandidate struct {
	SearchEntry
	Filename  string
	Kind      string
	CreatedAt time.Time
	Rank      float64 // higher is better; 0 while the drivers leave ranking to the caller
	// TimesText is Times as stored (the start and end of each word in
	// seconds, space-separated), which SearchEntriesMatch returns instead
	// of Times: a search reads the times of the few words it shows.
	TimesText string
}

// SearchIndexReplaceParams replace one media item's entries.
type SearchIndexReplaceParams struct {
	TenantID string
	MediaID  string
	Entries  []SearchEntry
	// Version is the indexer's version, recorded for SearchIndexPending.
	Version int
}

// SearchTermsParams list the tenant's indexed words that start with
// Prefix and are MinLen..MaxLen bytes long, at most Limit of them.
type SearchTermsParams struct {
	TenantID string
	Prefix   string
	MinLen   int
	MaxLen   int
	Limit    int
}

// SearchValuesParams count the entries of Field per Value (and media item)
// for the given media items of one tenant: the label and entity facets.
type SearchValuesParams struct {
	TenantID string
	Field    string
	MediaIDs []string
}

// SearchValueCount is how many of the given media items have Value.
type SearchValueCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// SearchIndexPendingParams list media items of one tenant (all tenants
// when TenantID is empty) that finished (SUCCEEDED) and are not indexed at
// Version, ordered by id after After, at most Limit.
type SearchIndexPendingParams struct {
	TenantID string
	Version  int
	After    string
	Limit    int
}

// SearchIndex is the time-coded search index. The SQL drivers implement
// it; callers find it with a type assertion on the Store, and a store
// without it has no moment search (the caller says so).
type SearchIndex interface {
	// SearchIndexReplace replaces a media item's entries (and records the
	// indexer's version) in one transaction.
	SearchIndexReplace(ctx context.Context, p *SearchIndexReplaceParams) error
	// SearchEntriesMatch returns candidate entries for a query.
	SearchEntriesMatch(ctx context.Context, p *SearchMatchParams) ([]*SearchCandidate, error)
	// SearchTerms lists indexed words, for edit-distance matching.
	SearchTerms(ctx context.Context, p *SearchTermsParams) ([]string, error)
	// SearchValues counts facet values over media items.
	SearchValues(ctx context.Context, p *SearchValuesParams) ([]SearchValueCount, error)
	// SearchIndexPending lists media items whose entries are missing or
	// were made by another indexer version.
	SearchIndexPending(ctx context.Context, p *SearchIndexPendingParams) ([]*Media, error)
}

// EntryVector is the embedding of one search entry.
type EntryVector struct {
	EntryID int64
	MediaID string
	Vec     []float32
	// Seq is the tenant's write count when the vector was stored (see
	// SearchVectorsStamp); set by SearchVectorsList.
	Seq int64
}

// SearchVectorsPutParams replace one media item's vectors for Model and
// record the item as embedded with it.
type SearchVectorsPutParams struct {
	TenantID string
	MediaID  string
	Model    string
	Vectors  []EntryVector
}

// SearchVectorsListParams page through a tenant's vectors of one model in
// entry order (after AfterID); with AfterSeq, only those stored after
// the write that made the stamp's Added AfterSeq.
type SearchVectorsListParams struct {
	TenantID string
	Model    string
	AfterID  int64
	AfterSeq int64
	Limit    int
}

// SearchVectorsStamp counts a tenant's vector writes (Added: every
// SearchVectorsPut, whose vectors carry the new count as their Seq) and
// the writes that removed vectors (Removed: a replace, a reindex, a
// deletion). Writes commit in Seq order. A reader that saw a stamp reads
// only what was added after it while Removed stays the same.
type SearchVectorsStamp struct {
	Added   int64
	Removed int64
}

// SearchEntriesParams read entries of one tenant: by id, or a media
// item's entries of the given fields.
type SearchEntriesParams struct {
	TenantID string
	IDs      []int64
	MediaID  string
	Fields   []string
}

// SearchEmbedPendingParams list media items of a tenant (all when empty)
// that are indexed but not embedded with Model, by id after After.
type SearchEmbedPendingParams struct {
	TenantID string
	Model    string
	After    string
	Limit    int
}

// VectorIndex stores embeddings of search entries. The SQL drivers
// implement it beside SearchIndex.
type VectorIndex interface {
	SearchVectorsPut(ctx context.Context, p *SearchVectorsPutParams) error
	SearchVectorsList(ctx context.Context, p *SearchVectorsListParams) ([]EntryVector, error)
	SearchVectorsStamp(ctx context.Context, tenantID, model string) (SearchVectorsStamp, error)
	SearchEntries(ctx context.Context, p *SearchEntriesParams) ([]*SearchCandidate, error)
	SearchEmbedPending(ctx context.Context, p *SearchEmbedPendingParams) ([]*Media, error)
}

// SearchVectorIndexPutParams store part Part of a tenant's vector index
// snapshot for Model (part 0 is the header, written last).
type SearchVectorIndexPutParams struct {
	TenantID string
	Model    string
	Part     int
	Data     []byte
	// Parts, with Part 0, removes the parts from Parts on (those of an
	// earlier, larger snapshot).
	Parts int
}

// MaxVectorIndexPart bounds one part of a vector index snapshot.
const MaxVectorIndexPart = 64 << 20

// VectorIndexStore keeps a search engine's built vector index per tenant
// and model as opaque parts (the engine defines their layout), so a
// restart loads it instead of rebuilding it from every vector. The SQL
// drivers implement it beside VectorIndex.
type VectorIndexStore interface {
	SearchVectorIndexPut(ctx context.Context, p *SearchVectorIndexPutParams) error
	// SearchVectorIndexGet returns a part, or nil when there is none.
	SearchVectorIndexGet(ctx context.Context, tenantID, model string, part int) ([]byte, error)
}
