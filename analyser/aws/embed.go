package aws

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/landfall/landfall/errcode"
)

// Embedder computes embeddings with a Bedrock model through InvokeModel:
// Amazon Titan Text Embeddings (amazon.titan-embed-text-v2:0 and v1, one
// text per request) or Cohere Embed (cohere.embed-english-v3,
// cohere.embed-multilingual-v3, up to 96 texts per request). Entries are
// embedded as documents and queries as queries where the model tells them
// apart (Cohere's input_type).
type Embedder struct {
	C *Clients
	// ModelID is the Bedrock model id (or an inference profile's).
	ModelID string
	// Dimensions asks Titan v2 for 256, 512 or 1024 dimensions (0: the
	// model's default, 1024).
	Dimensions int
}

// Bedrock's documented limits of one InvokeModel request.
const (
	cohereMaxTexts  = 96
	cohereMaxChars  = 2048
	titanMaxChars   = 50000
	titanConcurrent = 4 // Titan takes one text per request: a few at once
)

type family int

const (
	titan family = iota
	cohere
)

// familyOf names the request shape of a model id ("amazon.titan-embed-…",
// "cohere.embed-…", also behind a cross-region profile prefix such as
// "us.cohere.embed-…").
func familyOf(id string) (family, error) {
	switch {
	case strings.Contains(id, "amazon.titan-embed-text"), strings.Contains(id, "amazon.titan-embed-g1-text"):
		return titan, nil
	case strings.Contains(id, "cohere.embed-"):
		return cohere, nil
	}
	return 0, errcode.New(errcode.ProviderNotConfigured, "aws: embedding model %q is neither Amazon Titan Text Embeddings nor Cohere Embed", id)
}

// CheckEmbeddingModel reports whether id is a Bedrock embedding model
// Embedder speaks to.
func CheckEmbeddingModel(id string) error {
	_, err := familyOf(id)
	return err
}

// Model names the vectors' model: vectors of one model are compared only
// with each other.
func (e *Embedder) Model() string {
	m := "aws:" + e.ModelID
	if e.Dimensions > 0 {
		m += "/" + strconv.Itoa(e.Dimensions)
	}
	return m
}

// Embed embeds texts as documents.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	v, _, err := e.embed(ctx, texts, "search_document")
	return v, err
}

// EmbedCounted also returns the input tokens Bedrock reports, for the
// usage ledger.
func (e *Embedder) EmbedCounted(ctx context.Context, texts []string) ([][]float32, int, error) {
	return e.embed(ctx, texts, "search_document")
}

// EmbedQuery embeds a search query (Cohere embeds queries and documents
// differently; Titan the same way).
func (e *Embedder) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	v, _, err := e.embed(ctx, []string{text}, "search_query")
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

func (e *Embedder) embed(ctx context.Context, texts []string, inputType string) ([][]float32, int, error) {
	if e.ModelID == "" {
		return nil, 0, errcode.New(errcode.ProviderNotConfigured, "aws: aws.embedding_model is not set")
	}
	fam, err := familyOf(e.ModelID)
	if err != nil {
		return nil, 0, err
	}
	if fam == titan {
		return e.titan(ctx, texts)
	}
	out := make([][]float32, 0, len(texts))
	tokens := 0
	for i := 0; i < len(texts); i += cohereMaxTexts {
		v, n, err := e.cohere(ctx, texts[i:min(i+cohereMaxTexts, len(texts))], inputType)
		if err != nil {
			return nil, tokens, err
		}
		out = append(out, v...)
		tokens += n
	}
	return out, tokens, nil
}

// titanRequest and titanResponse are Titan Text Embeddings' documented
// InvokeModel bodies.
type titanRequest struct {
	InputText  string `json:"inputText"`
	Dimensions int    `json:"dimensions,omitempty"`
	Normalize  *bool  `json:"normalize,omitempty"`
}

type titanResponse struct {
	Embedding           []float32 `json:"embedding"`
	InputTextTokenCount int       `json:"inputTextTokenCount"`
}

func (e *Embedder) titan(ctx context.Context, texts []string) ([][]float32, int, error) {
	out := make([][]float32, len(texts))
	counts := make([]int, len(texts))
	errs := make([]error, len(texts))
	v2 := strings.Contains(e.ModelID, "titan-embed-text-v2")
	sem := make(chan struct{}, titanConcurrent)
	var wg sync.WaitGroup
	for i, t := range texts {
		req := titanRequest{InputText: clip(t, titanMaxChars)}
		if v2 {
			// v1 takes the text only; v2 its size and normalisation.
			req.Dimensions = e.Dimensions
			req.Normalize = awssdk.Bool(true)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var resp titanResponse
			if _, err := e.invoke(ctx, req, &resp); err != nil {
				errs[i] = err
				return
			}
			if len(resp.Embedding) == 0 {
				errs[i] = errcode.New(errcode.ProviderBadOutput, "aws: bedrock %s: /embedding: empty for text %d", e.ModelID, i)
				return
			}
			out[i], counts[i] = resp.Embedding, resp.InputTextTokenCount
		}()
	}
	wg.Wait()
	tokens := 0
	for i := range texts {
		tokens += counts[i]
	}
	for _, err := range errs {
		if err != nil {
			return nil, tokens, err
		}
	}
	return out, tokens, nil
}

// cohereRequest and cohereResponse are Cohere Embed's documented
// InvokeModel bodies; with embedding_types the embeddings arrive by type.
type cohereRequest struct {
	Texts          []string `json:"texts"`
	InputType      string   `json:"input_type"`
	Truncate       string   `json:"truncate"`
	EmbeddingTypes []string `json:"embedding_types"`
}

type cohereResponse struct {
	ID           string          `json:"id"`
	ResponseType string          `json:"response_type"`
	Embeddings   json.RawMessage `json:"embeddings"`
}

func (e *Embedder) cohere(ctx context.Context, texts []string, inputType string) ([][]float32, int, error) {
	req := cohereRequest{InputType: inputType, Truncate: "END", EmbeddingTypes: []string{"float"}}
	for _, t := range texts {
		req.Texts = append(req.Texts, clip(t, cohereMaxChars))
	}
	var resp cohereResponse
	tokens, err := e.invoke(ctx, req, &resp)
	if err != nil {
		return nil, 0, err
	}
	var vecs [][]float32
	switch resp.ResponseType {
	case "embeddings_by_type":
		var by struct {
			Float [][]float32 `json:"float"`
		}
		if err := json.Unmarshal(resp.Embeddings, &by); err != nil {
			return nil, tokens, errcode.Wrap(errcode.ProviderBadOutput, err, "aws: bedrock %s: /embeddings", e.ModelID)
		}
		vecs = by.Float
	case "embeddings_floats", "":
		if err := json.Unmarshal(resp.Embeddings, &vecs); err != nil {
			return nil, tokens, errcode.Wrap(errcode.ProviderBadOutput, err, "aws: bedrock %s: /embeddings", e.ModelID)
		}
	default:
		return nil, tokens, errcode.New(errcode.ProviderBadOutput, "aws: bedrock %s: /response_type: %q is not a float embedding", e.ModelID, resp.ResponseType)
	}
	if len(vecs) != len(texts) {
		return nil, tokens, errcode.New(errcode.ProviderBadOutput, "aws: bedrock %s: /embeddings: %d vectors for %d texts", e.ModelID, len(vecs), len(texts))
	}
	for i, v := range vecs {
		if len(v) == 0 {
			return nil, tokens, errcode.New(errcode.ProviderBadOutput, "aws: bedrock %s: /embeddings/%d: empty", e.ModelID, i)
		}
	}
	return vecs, tokens, nil
}

// invoke posts body to the model and decodes its answer into out. It
// returns the input tokens of the X-Amzn-Bedrock-Input-Token-Count
// header (Cohere's only count; 0 when absent).
func (e *Embedder) invoke(ctx context.Context, body, out any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	what := "aws: bedrock " + e.ModelID + " InvokeModel"
	res, err := e.C.Bedrock.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: awssdk.String(e.ModelID),
		ContentType: awssdk.String("application/json"), Accept: awssdk.String("application/json"), Body: b})
	if err != nil {
		return 0, classify(err, what)
	}
	if err := json.Unmarshal(res.Body, out); err != nil {
		return 0, errcode.Wrap(errcode.ProviderBadOutput, err, "%s: response body", what)
	}
	tokens := 0
	if raw, ok := awsmiddleware.GetRawResponse(res.ResultMetadata).(*smithyhttp.Response); ok && raw != nil {
		tokens, _ = strconv.Atoi(raw.Header.Get("X-Amzn-Bedrock-Input-Token-Count"))
	}
	return tokens, nil
}

// clip cuts s to at most n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
