package aws

import (
	"context"
	"math"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/landfall/landfall/analyser/aws/bedrocktest"
	"github.com/landfall/landfall/catalog/search/searchtest"
	"github.com/landfall/landfall/errcode"
)

func bedrockClients(t *testing.T, srv *bedrocktest.Server, secret string) *Clients {
	ac := awssdk.Config{Region: bedrocktest.Region, Credentials: credentials.NewStaticCredentialsProvider(bedrocktest.AccessKey, secret, ""), RetryMaxAttempts: 1}
	c, err := New(context.Background(), Config{Endpoint: srv.URL, AWS: &ac})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

// Titan Text Embeddings v2: one signed InvokeModel request per text with
// the documented body, the vectors in input order, the tokens the
// responses count.
func TestBedrockTitanEmbeddings(t *testing.T) {
	srv := bedrocktest.New()
	defer srv.Close()
	e := &Embedder{C: bedrockClients(t, srv, bedrocktest.SecretKey), ModelID: "amazon.titan-embed-text-v2:0", Dimensions: 512}
	texts := []string{"the automobile parked outside", "a physician at the clinic", "the car in the street", "ten cars"}
	vecs, tokens, err := e.EmbedCounted(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) || len(vecs[0]) != 512 {
		t.Fatalf("got %d vectors of %d dimensions", len(vecs), len(vecs[0]))
	}
	if tokens != 4+5+5+2 {
		t.Fatalf("tokens: %d", tokens)
	}
	for i, text := range texts {
		if c := cosine(vecs[i][:searchtest.Dim], searchtest.Vector(text)); c < 0.999 {
			t.Errorf("vector %d is not text %q's (cosine %.3f): out of order", i, text, c)
		}
	}
	if cosine(vecs[0], vecs[2]) <= cosine(vecs[0], vecs[1]) {
		t.Error("automobile is not nearer car than physician")
	}
	reqs := srv.Requests()
	if len(reqs) != len(texts) {
		t.Fatalf("%d requests for %d texts", len(reqs), len(texts))
	}
	for _, r := range reqs {
		if r.Model != "amazon.titan-embed-text-v2:0" || r.Body["dimensions"] != 512.0 || r.Body["normalize"] != true || r.Body["inputText"] == "" {
			t.Fatalf("request %+v", r)
		}
	}
	if e.Model() != "aws:amazon.titan-embed-text-v2:0/512" {
		t.Fatalf("model %q", e.Model())
	}
	q, err := e.EmbedQuery(context.Background(), "automobile")
	if err != nil || len(q) != 512 {
		t.Fatalf("query: %d %v", len(q), err)
	}
}

// Cohere Embed: batches of at most 96 texts as search documents, queries
// as search queries, float embeddings by type, tokens from the response
// header.
func TestBedrockCohereEmbeddings(t *testing.T) {
	srv := bedrocktest.New()
	defer srv.Close()
	e := &Embedder{C: bedrockClients(t, srv, bedrocktest.SecretKey), ModelID: "cohere.embed-english-v3"}
	var texts []string
	for i := 0; i < 100; i++ {
		texts = append(texts, "budget review number "+strings.Repeat("x", i%5+3))
	}
	texts[99] = strings.Repeat("long ", 600) // past Cohere's 2,048 characters: cut
	vecs, tokens, err := e.EmbedCounted(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 100 || len(vecs[0]) != 1024 {
		t.Fatalf("got %d vectors of %d dimensions", len(vecs), len(vecs[0]))
	}
	if tokens != 99*4+len(strings.Fields(texts[99][:2048])) {
		t.Fatalf("tokens: %d", tokens)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || len(reqs[0].Body["texts"].([]any)) != 96 || len(reqs[1].Body["texts"].([]any)) != 4 {
		t.Fatalf("batches: %d requests", len(reqs))
	}
	if reqs[0].Body["input_type"] != "search_document" || reqs[0].Body["truncate"] != "END" {
		t.Fatalf("request %+v", reqs[0].Body)
	}
	q, err := e.EmbedQuery(context.Background(), "money")
	if err != nil {
		t.Fatal(err)
	}
	if last := srv.Requests()[2]; last.Body["input_type"] != "search_query" {
		t.Fatalf("query embedded as %v", last.Body["input_type"])
	}
	if cosine(q, vecs[0]) < 0.3 {
		t.Fatalf("money is not near budget: %.3f", cosine(q, vecs[0]))
	}
}

// A request signed with another secret is refused by the service (and
// named Provider.Failed, not retried); throttling is Provider.Throttled;
// an unknown model id is refused before any request.
func TestBedrockEmbeddingErrors(t *testing.T) {
	srv := bedrocktest.New()
	defer srv.Close()
	bad := &Embedder{C: bedrockClients(t, srv, "not-the-secret"), ModelID: "amazon.titan-embed-text-v2:0"}
	_, err := bad.Embed(context.Background(), []string{"hello"})
	if errcode.Of(err) != errcode.ProviderFailed || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("wrong secret: %v", err)
	}
	e := &Embedder{C: bedrockClients(t, srv, bedrocktest.SecretKey), ModelID: "cohere.embed-multilingual-v3"}
	srv.Fail(429, "ThrottlingException")
	if _, err := e.Embed(context.Background(), []string{"hello"}); errcode.Of(err) != errcode.ProviderThrottled {
		t.Fatalf("throttled: %v", err)
	}
	srv.Fail(0, "")
	if _, err := e.Embed(context.Background(), []string{"hello"}); err != nil {
		t.Fatal(err)
	}
	x := &Embedder{C: e.C, ModelID: "meta.llama3-8b-instruct-v1:0"}
	if _, err := x.Embed(context.Background(), []string{"hello"}); errcode.Of(err) != errcode.ProviderNotConfigured {
		t.Fatalf("unknown model: %v", err)
	}
	if len(srv.Requests()) != 1 {
		t.Fatalf("%d requests accepted", len(srv.Requests()))
	}
}
