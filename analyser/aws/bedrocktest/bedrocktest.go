// Package bedrocktest serves Amazon Bedrock's InvokeModel API for the
// embedding models on loopback: POST /model/{modelId}/invoke with Amazon
// Titan Text Embeddings' or Cohere Embed's documented JSON bodies, every
// request's AWS Signature Version 4 checked against the server's
// credentials (a request signed otherwise is refused as Bedrock refuses
// it). Vectors are searchtest's test model, so search over them finds
// words by meaning offline.
package bedrocktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/landfall/landfall/catalog/search/searchtest"
)

// Credentials and region the server accepts.
const (
	AccessKey = "AKIDBEDROCKTEST"
	SecretKey = "bedrock-test-secret"
	Region    = "us-east-1"
)

// Request is one accepted InvokeModel call.
type Request struct {
	Model string
	Body  map[string]any
}

// Server is the loopback Bedrock runtime.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	// Fail, when set, answers the next requests with this HTTP status
	// and Bedrock error type (e.g. 429, "ThrottlingException").
	failStatus int
	failType   string
}

// New starts a server; Close stops it.
func New() *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Requests returns the accepted calls so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Fail makes the following requests fail with status and the Bedrock
// error type (status 0 stops failing).
func (s *Server) Fail(status int, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failType = status, errType
}

func bedrockError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		bedrockError(w, 400, "ValidationException", "unreadable body")
		return
	}
	if msg := CheckSignature(r, body, AccessKey, SecretKey, Region, "bedrock"); msg != "" {
		bedrockError(w, 403, "InvalidSignatureException", msg)
		return
	}
	model, ok := strings.CutPrefix(r.URL.Path, "/model/")
	model, ok2 := strings.CutSuffix(model, "/invoke")
	if r.Method != http.MethodPost || !ok || !ok2 || model == "" {
		bedrockError(w, 404, "UnknownOperationException", "no such operation: "+r.Method+" "+r.URL.Path)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		bedrockError(w, 400, "ValidationException", "content type "+ct+" is not application/json")
		return
	}
	s.mu.Lock()
	failStatus, failType := s.failStatus, s.failType
	s.mu.Unlock()
	if failStatus != 0 {
		bedrockError(w, failStatus, failType, "failing as told")
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		bedrockError(w, 400, "ValidationException", "Malformed input request: "+err.Error())
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Model: model, Body: req})
	s.mu.Unlock()
	switch {
	case strings.Contains(model, "amazon.titan-embed-text"):
		s.titan(w, model, req)
	case strings.Contains(model, "cohere.embed-"):
		s.cohere(w, req)
	default:
		bedrockError(w, 404, "ResourceNotFoundException", "model "+model+" not found")
	}
}

// titan answers {"inputText", "dimensions"?, "normalize"?} with
// {"embedding", "inputTextTokenCount"}.
func (s *Server) titan(w http.ResponseWriter, model string, req map[string]any) {
	text, ok := req["inputText"].(string)
	if !ok || text == "" {
		bedrockError(w, 400, "ValidationException", "Malformed input request: #: required key [inputText] not found")
		return
	}
	for k := range req {
		if k != "inputText" && k != "dimensions" && k != "normalize" && k != "embeddingTypes" {
			bedrockError(w, 400, "ValidationException", "Malformed input request: #: extraneous key ["+k+"] is not permitted")
			return
		}
	}
	dim := 1024
	if strings.Contains(model, "v1") {
		dim = 1536
		if len(req) != 1 {
			bedrockError(w, 400, "ValidationException", "Malformed input request: titan v1 takes inputText only")
			return
		}
	}
	if d, ok := req["dimensions"].(float64); ok {
		if d != 256 && d != 512 && d != 1024 {
			bedrockError(w, 400, "ValidationException", "Malformed input request: dimensions must be 256, 512 or 1024")
			return
		}
		dim = int(d)
	}
	v := resize(searchtest.Vector(text), dim)
	if n, _ := req["normalize"].(bool); n {
		unit(v)
	}
	tokens := len(strings.Fields(text))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(tokens))
	_ = json.NewEncoder(w).Encode(map[string]any{"embedding": v, "inputTextTokenCount": tokens})
}

// cohere answers {"texts", "input_type", "truncate"?, "embedding_types"?}
// with {"id", "response_type", "embeddings", "texts"}; the input tokens
// are in the X-Amzn-Bedrock-Input-Token-Count header only.
func (s *Server) cohere(w http.ResponseWriter, req map[string]any) {
	raw, ok := req["texts"].([]any)
	if !ok || len(raw) == 0 || len(raw) > 96 {
		bedrockError(w, 400, "ValidationException", "Malformed input request: texts: between 1 and 96 required")
		return
	}
	switch req["input_type"] {
	case "search_document", "search_query", "classification", "clustering":
	default:
		bedrockError(w, 400, "ValidationException", fmt.Sprintf("Malformed input request: input_type %v is not valid", req["input_type"]))
		return
	}
	var texts []string
	var vecs [][]float32
	tokens := 0
	for _, x := range raw {
		t, ok := x.(string)
		if !ok || len(t) > 2048 {
			bedrockError(w, 400, "ValidationException", "Malformed input request: a text is not a string of at most 2048 characters")
			return
		}
		texts = append(texts, t)
		v := resize(searchtest.Vector(t), 1024)
		if req["input_type"] == "search_query" {
			// Queries and documents are embedded apart; the test model
			// marks a query in its last dimension, which the search
			// ranking tolerates.
			v[1023] += 0.5
		}
		vecs = append(vecs, v)
		tokens += len(strings.Fields(t))
	}
	resp := map[string]any{"id": "emb-1", "texts": texts}
	if types, ok := req["embedding_types"].([]any); ok && len(types) > 0 {
		resp["response_type"] = "embeddings_by_type"
		resp["embeddings"] = map[string]any{"float": vecs}
	} else {
		resp["response_type"] = "embeddings_floats"
		resp["embeddings"] = vecs
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(tokens))
	_ = json.NewEncoder(w).Encode(resp)
}

func resize(v []float32, dim int) []float32 {
	out := make([]float32, dim)
	copy(out, v)
	return out
}

func unit(v []float32) {
	var s float32
	for _, x := range v {
		s += x * x
	}
	if s == 0 {
		return
	}
	n := 1 / sqrt(s)
	for i := range v {
		v[i] *= n
	}
}

func sqrt(x float32) float32 {
	z := x
	for i := 0; i < 30; i++ {
		z = (z + x/z) / 2
	}
	return z
}

// CheckSignature verifies r's AWS Signature Version 4 (header form) as
// the service does, from the specification rather than an SDK: the
// canonical request (path segments URI-encoded twice, as for every service
// but S3), the string to sign and the HMAC chain of the secret. It returns
// "" when the signature holds, else what is wrong.
func CheckSignature(r *http.Request, body []byte, accessKey, secret, region, service string) string {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "Authorization is not AWS4-HMAC-SHA256"
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	cred := strings.Split(parts["Credential"], "/")
	if len(cred) != 5 || cred[4] != "aws4_request" {
		return "malformed Credential " + parts["Credential"]
	}
	if cred[0] != accessKey {
		return "The security token included in the request is invalid."
	}
	if cred[2] != region || cred[3] != service {
		return fmt.Sprintf("credential scope %s/%s, want %s/%s", cred[2], cred[3], region, service)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if len(amzDate) != 16 || amzDate[:8] != cred[1] {
		return "X-Amz-Date " + amzDate + " does not match the credential date " + cred[1]
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload {
		return "X-Amz-Content-Sha256 does not match the body"
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	if !sort.StringsAreSorted(signed) || !contains(signed, "host") || !contains(signed, "x-amz-date") {
		return "SignedHeaders " + parts["SignedHeaders"] + " must be sorted and include host and x-amz-date"
	}
	var canonHeaders strings.Builder
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			v = strings.Join(r.Header.Values(h), ",")
		}
		canonHeaders.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	canon := strings.Join([]string{r.Method, uriEncode(r.URL.EscapedPath(), true), canonicalQuery(r.URL.Query()),
		canonHeaders.String(), parts["SignedHeaders"], payload}, "\n")
	ch := sha256.Sum256([]byte(canon))
	scope := strings.Join(cred[1:], "/")
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(ch[:])
	key := []byte("AWS4" + secret)
	for _, x := range []string{cred[1], region, service, "aws4_request"} {
		key = mac(key, x)
	}
	want := hex.EncodeToString(mac(key, toSign))
	if !hmac.Equal([]byte(want), []byte(parts["Signature"])) {
		return "The request signature we calculated does not match the signature you provided."
	}
	return ""
}

func mac(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// uriEncode encodes every byte but the unreserved characters (and '/'
// in a path).
func uriEncode(s string, path bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || path && c == '/' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func canonicalQuery(q url.Values) string {
	var kv []string
	for k, vs := range q {
		for _, v := range vs {
			kv = append(kv, uriEncode(k, false)+"="+uriEncode(v, false))
		}
	}
	sort.Strings(kv)
	return strings.Join(kv, "&")
}
