package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/landfall/landfall/analyser"
	awsprov "github.com/landfall/landfall/analyser/aws"
	"github.com/landfall/landfall/analyser/openai"
	"github.com/landfall/landfall/config"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/catalog/search/wordnet"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// WordNetDir is where search looks for WordNet's database (Debian's
// wordnet-base); without it, queries are not expanded to synonyms and the
// server says so when it starts.
var WordNetDir = wordnet.DefaultDir

// newSearch builds the search engine over the catalog's index: words as
// typed, by sound and by spelling, and WordNet's synonyms when its
// database is installed.
func newSearch(st catalog.Store, emb search.Embedder, log *slog.Logger) (*search.Engine, *wordnet.DB, error) {
	idx, ok := st.(catalog.SearchIndex)
	if !ok {
		return nil, nil, errcode.New(errcode.NotImplemented, "catalog %s has no search index", st.Name())
	}
	opt := search.Options{Phonetic: true, Fuzzy: true, Embedder: emb}
	db, err := wordnet.Open(WordNetDir)
	if err != nil {
		log.Warn("search: synonyms are off: WordNet's database is missing (scripts/setup installs wordnet-base)", "err", err)
	} else {
		opt.Expander = &search.WordNet{DB: db, OnError: func(word string, err error) {
			log.Warn("search: WordNet lookup failed; the word is searched as typed", "word", word, "err", err)
		}}
	}
	return search.New(idx, opt), db, nil
}

// ReindexParams run a search reindex.
type ReindexParams struct {
	// TenantID limits the reindex to one tenant ("" for all).
	TenantID string
	// All reindexes every finished item, not only those indexed by an
	// older indexer version or not at all.
	All bool
	// Progress, when set, is told about each item.
	Progress func(m *catalog.Media, entries int, err error)
}

// ReindexReport counts what a reindex did.
type ReindexReport struct {
	Indexed int `json:"indexed"`
	Entries int `json:"entries"`
	Failed  int `json:"failed"`
}

// Reindex rebuilds the search entries of finished media items from their
// records and transcripts. It is resumable: each item is recorded as
// indexed by the current indexer version in the same transaction as its
// entries, and a rerun takes up the items still missing. With All, every
// item is indexed again (those done before this run first are skipped on a
// rerun only by the version, so All starts over).
// It needs only the catalog and the bucket, so it runs beside a serving
// process.
func Reindex(ctx context.Context, st catalog.Store, bucket *blob.Bucket, p ReindexParams) (*ReindexReport, error) {
	idx, ok := st.(catalog.SearchIndex)
	if !ok {
		return nil, errcode.New(errcode.NotImplemented, "catalog %s has no search index", st.Name())
	}
	version := search.IndexVersion
	rep := &ReindexReport{}
	after := ""
	for {
		pending, err := idx.SearchIndexPending(ctx, &catalog.SearchIndexPendingParams{TenantID: p.TenantID, Version: pendingVersion(version, p.All), After: after, Limit: 100})
		if err != nil {
			return rep, err
		}
		if len(pending) == 0 {
			return rep, nil
		}
		for _, m := range pending {
			after = m.ID
			n, err := reindexOne(ctx, bucket, idx, m)
			if p.Progress != nil {
				p.Progress(m, n, err)
			}
			if err != nil {
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					return rep, err
				}
				rep.Failed++
				continue
			}
			rep.Indexed++
			rep.Entries += n
		}
	}
}

// pendingVersion is the version items must not have to be listed: the
// current one, or (All) one no item has.
func pendingVersion(v int, all bool) int {
	if all {
		return -1
	}
	return v
}

func reindexOne(ctx context.Context, bucket *blob.Bucket, idx catalog.SearchIndex, m *catalog.Media) (int, error) {
	var tr *types.Transcript
	if m.TranscriptKey != "" {
		b, err := bucket.ReadAll(ctx, m.TranscriptKey)
		if err != nil {
			return 0, err
		}
		tr = &types.Transcript{}
		if err := json.Unmarshal(b, tr); err != nil {
			return 0, errcode.Wrap(errcode.Invalid, err, "media %s: transcript %s", m.ID, m.TranscriptKey)
		}
	}
	entries := search.Entries(m, tr)
	return len(entries), idx.SearchIndexReplace(ctx, &catalog.SearchIndexReplaceParams{TenantID: m.TenantID, MediaID: m.ID,
		Entries: entries, Version: search.IndexVersion})
}

// openaiEmbedder embeds with an OpenAI-compatible /v1/embeddings server.
type openaiEmbedder struct {
	c     *openai.Client
	model string
}

func (e openaiEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	v, _, err := e.c.Embed(ctx, texts)
	return v, err
}

// EmbedCounted also returns the prompt tokens the server reports, which
// the Embed state prices and records in the usage ledger.
func (e openaiEmbedder) EmbedCounted(ctx context.Context, texts []string) ([][]float32, int, error) {
	return e.c.Embed(ctx, texts)
}

// Model names the server's model; vectors of one model are compared only
// with each other.
func (e openaiEmbedder) Model() string { return "openai:" + e.model }

// EmbedderFor returns the embedding provider the configuration names
// (analysers.embed: openai, with openai.base_url and
// openai.embedding_model; or aws, with aws.embedding_model), or nil when
// none is configured.
func EmbedderFor(cfg *config.Config) (search.Embedder, error) {
	switch p := cfg.Analysers[analyser.TaskEmbed]; p {
	case "", "none", "local":
		return nil, nil
	case "openai":
		if cfg.OpenAI.BaseURL == "" || cfg.OpenAI.EmbeddingModel == "" {
			return nil, fmt.Errorf("analysers.embed is openai: set openai.base_url and openai.embedding_model")
		}
		key := cfg.OpenAI.APIKey
		if cfg.OpenAI.APIKeyEnv != "" {
			key = os.Getenv(cfg.OpenAI.APIKeyEnv)
		}
		c, err := openai.New(openai.Config{BaseURL: cfg.OpenAI.BaseURL, APIKey: key, EmbeddingModel: cfg.OpenAI.EmbeddingModel,
			Timeout: cfg.OpenAI.Timeout.Duration})
		if err != nil {
			return nil, err
		}
		return openaiEmbedder{c: c, model: cfg.OpenAI.EmbeddingModel}, nil
	case "aws":
		if cfg.AWS.EmbeddingModel == "" {
			return nil, fmt.Errorf("analysers.embed is aws: set aws.embedding_model (amazon.titan-embed-text-v2:0, cohere.embed-english-v3 or cohere.embed-multilingual-v3)")
		}
		if err := awsprov.CheckEmbeddingModel(cfg.AWS.EmbeddingModel); err != nil {
			return nil, fmt.Errorf("analysers.embed is aws: %w", err)
		}
		c, err := awsprov.New(context.Background(), awsprov.Config{Region: cfg.AWS.Region, Profile: cfg.AWS.Profile, Endpoint: cfg.AWS.Endpoint})
		if err != nil {
			return nil, err
		}
		return &awsprov.Embedder{C: c, ModelID: cfg.AWS.EmbeddingModel, Dimensions: cfg.AWS.EmbeddingDimensions}, nil
	default:
		return nil, fmt.Errorf("analysers.embed: %q has no embedding provider (openai and aws are)", p)
	}
}

// ReembedReport counts what a re-embedding did.
type ReembedReport struct {
	Items   int `json:"items"`
	Entries int `json:"entries"`
	Failed  int `json:"failed"`
}

// Reembed computes the vectors of every indexed item not yet embedded with
// emb's model (all of them after a model change). It is resumable: each
// item records the model in the same transaction as its vectors.
func Reembed(ctx context.Context, st catalog.Store, emb search.Embedder, tenant string, progress func(m *catalog.Media, n int, err error)) (*ReembedReport, error) {
	vi, ok := st.(catalog.VectorIndex)
	if !ok {
		return nil, errcode.New(errcode.NotImplemented, "catalog %s stores no vectors", st.Name())
	}
	rep := &ReembedReport{}
	after := ""
	for {
		pending, err := vi.SearchEmbedPending(ctx, &catalog.SearchEmbedPendingParams{TenantID: tenant, Model: emb.Model(), After: after, Limit: 100})
		if err != nil {
			return rep, err
		}
		if len(pending) == 0 {
			return rep, nil
		}
		for _, m := range pending {
			after = m.ID
			n, err := search.EmbedMedia(ctx, vi, emb, m.TenantID, m.ID)
			if progress != nil {
				progress(m, n, err)
			}
			if err != nil {
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					return rep, err
				}
				rep.Failed++
				continue
			}
			rep.Items++
			rep.Entries += n
		}
	}
}
