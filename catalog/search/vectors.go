package search

import (
	"context"
	"sort"

	"github.com/landfall/landfall/errcode"
)

// Embedder turns texts into vectors (an OpenAI-compatible /v1/embeddings
// server, Amazon Bedrock). Model names the model, so vectors of another
// model are never compared.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Model() string
}

// RRFK is the rank constant of reciprocal rank fusion: a hit at rank r (1
// is best) in a list of weight w adds w/(RRFK+r). 60 is the value of
// Cormack, Clarke and Büttcher's paper; it keeps one list's top hit from
// swamping agreement between lists.
const RRFK = 60

// Fuse merges the lexical hits (best first) with the vector hits (best
// first) by weighted reciprocal rank: the lexical list has weight 1, the
// vector list vectorWeight. A moment in both lists (same entry) is listed
// once, keeping the lexical hit's matched words and times. Scores become
// the fused scores.
func Fuse(lexical, vector []*Hit, vectorWeight float64) []*Hit {
	type acc struct {
		h     *Hit
		score float64
	}
	byEntry := map[int64]*acc{}
	var order []*acc
	add := func(list []*Hit, w float64) {
		for r, h := range list {
			a := byEntry[h.entryID]
			if a == nil {
				a = &acc{h: h}
				byEntry[h.entryID] = a
				order = append(order, a)
			}
			a.score += w / float64(RRFK+r+1)
		}
	}
	add(lexical, 1)
	add(vector, vectorWeight)
	sort.SliceStable(order, func(i, j int) bool { return order[i].score > order[j].score })
	out := make([]*Hit, len(order))
	for i, a := range order {
		a.h.Score = a.score
		out[i] = a.h
	}
	return out
}

func (e *Engine) vectorHits(ctx context.Context, tenant, text string, f Filters, keep map[string]bool) ([]*Hit, error) {
	return nil, errcode.New(errcode.NotImplemented, "search: vector search is not built into this catalog")
}
