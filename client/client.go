// Package client is a Go client of Landfall's HTTP API.
package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Client talks to one Landfall server.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	APIKey  string // sent as a Bearer token when set
	Tenant  string // sent as ?tenant= when set (open servers)
	HTTP    *http.Client
}

// Media is a media record with links to its exports.
type Media struct {
	catalog.Media
	Links map[string]string `json:"links"`
}

func (c *Client) url(path string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	if c.Tenant != "" && q.Get("tenant") == "" {
		q.Set("tenant", c.Tenant)
	}
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (c *Client) do(req *http.Request, out any) error {
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "landfall server %s", c.BaseURL)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var p types.Problem
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, &p) == nil && p.Code != "" {
			return &errcode.Error{Code: errcode.Code(p.Code), Message: p.Detail}
		}
		return fmt.Errorf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if w, ok := out.(io.Writer); ok {
		_, err := io.Copy(w, resp.Body)
		return err
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path, q), nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

// Upload streams a file to POST /v1/uploads, with words the transcriber
// should expect.
func (c *Client) Upload(ctx context.Context, path string, vocabulary ...string) (*Media, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	q := url.Values{"filename": {filepath.Base(path)}}
	if len(vocabulary) > 0 {
		q.Set("vocabulary", strings.Join(vocabulary, ","))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v1/uploads", q), f)
	if err != nil {
		return nil, err
	}
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	var m Media
	return &m, c.do(req, &m)
}

// GetMedia returns one media record.
func (c *Client) GetMedia(ctx context.Context, id string) (*Media, error) {
	var m Media
	return &m, c.get(ctx, "/v1/media/"+url.PathEscape(id), nil, &m)
}

// MediaDeleted says what DeleteMedia removed.
type MediaDeleted = types.MediaDeleted

// DeleteMedia deletes a media item with its objects, artefacts, search
// entries and failures, stopping its running execution first.
func (c *Client) DeleteMedia(ctx context.Context, id string) (*MediaDeleted, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.url("/v1/media/"+url.PathEscape(id), nil), nil)
	if err != nil {
		return nil, err
	}
	var d MediaDeleted
	return &d, c.do(req, &d)
}

// ListParams filter ListMedia.
type ListParams struct {
	Status, Kind, Since, Until, Cursor string
	Limit                              int
}

// MediaPage is one page of media.
type MediaPage struct {
	Media []*catalog.Media `json:"media"`
	Next  string           `json:"next"`
}

// ListMedia lists media newest first.
func (c *Client) ListMedia(ctx context.Context, p ListParams) (*MediaPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": p.Status, "kind": p.Kind, "since": p.Since, "until": p.Until, "cursor": p.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var page MediaPage
	return &page, c.get(ctx, "/v1/media", q, &page)
}

// SearchResult is the answer of Search.
type SearchResult struct {
	Query string `json:"query"`
	// Hits are the moments of Groups, in order.
	Hits   []*search.Hit                  `json:"hits"`
	Groups []*search.Group                `json:"groups"`
	Facets map[string][]search.FacetCount `json:"facets,omitempty"`
}

// Search runs a full-text query.
func (c *Client) Search(ctx context.Context, query string, limit int) (*SearchResult, error) {
	q := url.Values{"q": {query}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var r SearchResult
	return &r, c.get(ctx, "/v1/search", q, &r)
}

// Export writes an export of a media item (captions.vtt, …) to w.
func (c *Client) Export(ctx context.Context, id, name string, w io.Writer) error {
	return c.get(ctx, "/v1/media/"+url.PathEscape(id)+"/"+url.PathEscape(name), nil, w)
}

// Failures lists failures newest first.
func (c *Client) Failures(ctx context.Context, limit int) (*catalog.FailurePage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p catalog.FailurePage
	return &p, c.get(ctx, "/v1/failures", q, &p)
}

// Redrive runs a failed item's pipeline again.
func (c *Client) Redrive(ctx context.Context, failureID int64) (*catalog.Failure, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v1/failures/"+strconv.FormatInt(failureID, 10)+"/redrive", nil), nil)
	if err != nil {
		return nil, err
	}
	var f catalog.Failure
	return &f, c.do(req, &f)
}

// ReviewList is a page of the review queue with its counts.
type ReviewList struct {
	Reviews []*catalog.Review     `json:"reviews"`
	Next    string                `json:"next,omitempty"`
	Counts  *catalog.ReviewCounts `json:"counts"`
}

// ReviewListParams filter the review queue.
type ReviewListParams struct {
	State, Reason, Kind, Sort string
	OlderThan                 time.Duration
	Limit                     int
}

// Reviews lists the review queue.
func (c *Client) Reviews(ctx context.Context, p ReviewListParams) (*ReviewList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"state": p.State, "reason": p.Reason, "kind": p.Kind, "sort": p.Sort} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if p.OlderThan > 0 {
		q.Set("older_than", p.OlderThan.String())
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var out ReviewList
	return &out, c.get(ctx, "/v1/reviews", q, &out)
}

// ReviewItem is one review item with its media record and document.
type ReviewItem struct {
	Review   *catalog.Review `json:"review"`
	Media    *catalog.Media  `json:"media"`
	Document json.RawMessage `json:"document"`
	Version  int64           `json:"version"`
}

// Review returns one review item.
func (c *Client) Review(ctx context.Context, mediaID string) (*ReviewItem, error) {
	var out ReviewItem
	return &out, c.get(ctx, "/v1/reviews/"+url.PathEscape(mediaID), nil, &out)
}

// ReviewDecision is a decision sent to POST /v1/reviews/{id}/decision.
type ReviewDecision struct {
	Outcome    string            `json:"outcome"`
	Reason     string            `json:"reason,omitempty"`
	Round      int               `json:"round,omitempty"`
	Step       string            `json:"step,omitempty"`
	Vocabulary []string          `json:"vocabulary,omitempty"`
	Edits      []json.RawMessage `json:"edits,omitempty"`
	After      int64             `json:"after,omitempty"`
	Reviewer   string            `json:"reviewer,omitempty"`
}

// Decide decides a review item (once: a second decision is refused).
func (c *Client) Decide(ctx context.Context, mediaID string, d ReviewDecision) (*catalog.Review, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v1/reviews/"+url.PathEscape(mediaID)+"/decision", nil), strings.NewReader(string(b)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	var out catalog.Review
	return &out, c.do(req, &out)
}
