// Package searchtest holds test doubles for search: a small embedding
// model whose vectors place words of one concept together, served in
// process (Concepts) and over an OpenAI-compatible /v1/embeddings endpoint
// (Handler), so vector search and the hybrid ranking are tested offline
// without model weights.
package searchtest

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/landfall/landfall/catalog"
)

// Dim is the dimension of the test model's vectors.
const Dim = 384

// concepts groups words that mean alike; a word outside them gets its own
// hashed dimension.
var concepts = [][]string{
	{"car", "cars", "automobile", "automobiles", "vehicle", "vehicles", "motorcar", "auto", "truck", "van"},
	{"doctor", "doctors", "physician", "medic", "nurse", "clinic", "hospital", "medicine"},
	{"money", "finance", "financial", "budget", "revenue", "profit", "numbers", "cash", "funding"},
	{"churn", "attrition", "cancel", "cancellations", "leaving", "retention"},
	{"professor", "lecturer", "teacher", "academic", "faculty"},
	{"ocean", "sea", "marine", "coast", "harbour", "harbor", "waves"},
	{"music", "song", "songs", "melody", "band", "concert"},
	{"rocket", "rockets", "launch", "spacecraft", "orbit", "satellite"},
	{"forest", "trees", "woodland", "timber"},
	{"weather", "rain", "storm", "forecast", "climate"},
}

var conceptOf = map[string]int{}

func init() {
	for i, ws := range concepts {
		for _, w := range ws {
			conceptOf[w] = i
		}
	}
}

// Vector is the test model's embedding of text: a count per concept (or
// hashed word) dimension.
func Vector(text string) []float32 {
	v := make([]float32, Dim)
	for _, w := range catalog.SplitWords(text) {
		if c, ok := conceptOf[w]; ok {
			v[c] += 3
			continue
		}
		if len(w) < 3 {
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(w))
		v[len(concepts)+int(h.Sum32()%uint32(Dim-len(concepts)))]++
	}
	return v
}

// Concepts is the test model in process.
type Concepts struct{ Calls atomic.Int64 }

func (c *Concepts) Embed(_ context.Context, texts []string) ([][]float32, error) {
	c.Calls.Add(1)
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = Vector(t)
	}
	return out, nil
}

func (c *Concepts) Model() string { return "test-concepts" }

// Handler serves the test model as POST /v1/embeddings in the OpenAI
// shape ({"model", "input": [texts]} → {"data": [{"index", "embedding"}],
// "usage"}).
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/embeddings", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string          `json:"model"`
			Input json.RawMessage `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":{"message":"bad JSON"}}`, http.StatusBadRequest)
			return
		}
		var texts []string
		if err := json.Unmarshal(req.Input, &texts); err != nil {
			var one string
			if json.Unmarshal(req.Input, &one) != nil {
				http.Error(w, `{"error":{"message":"input must be a string or strings"}}`, http.StatusBadRequest)
				return
			}
			texts = []string{one}
		}
		type item struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
			Object    string    `json:"object"`
		}
		data := make([]item, len(texts))
		tokens := 0
		for i, t := range texts {
			data[i] = item{Index: i, Embedding: Vector(t), Object: "embedding"}
			tokens += len(strings.Fields(t))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model, "data": data,
			"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
	})
	return mux
}
