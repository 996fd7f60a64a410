package apiserver

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
)

// Reviews is the human review queue as the API needs it.
type Reviews interface {
	List(ctx context.Context, p *catalog.ReviewListParams) (*ReviewList, error)
	Get(ctx context.Context, tenant, mediaID string) (*ReviewItem, error)
	Claim(ctx context.Context, tenant, mediaID, reviewer string, lease time.Duration) (*catalog.Review, error)
	Release(ctx context.Context, tenant, mediaID, reviewer string, force bool) (*catalog.Review, error)
	Edit(ctx context.Context, tenant, mediaID, reviewer string, after int64, edits []pipeline.Edit) (*catalog.MediaVersion, error)
	// Decide takes a decision once: a second decision of the same round
	// is errcode.FailedPrecond naming the first, and a decision whose
	// task had ended is refused the same way.
	Decide(ctx context.Context, tenant, mediaID, reviewer string, d *ReviewDecision) (*catalog.Review, error)
	Versions(ctx context.Context, tenant, mediaID string) ([]*catalog.MediaVersion, error)
	// Export calls emit with one feedback record per decided item.
	Export(ctx context.Context, tenant string, emit func(v any) error) error
	// Vocabulary lists the tenant's vocabulary terms (suggested from
	// reviewers' corrections, and accepted); AcceptVocabulary accepts
	// suggestions, so later transcriptions use them.
	Vocabulary(ctx context.Context, tenant, state string) ([]*catalog.VocabularyTerm, error)
	AcceptVocabulary(ctx context.Context, p *catalog.VocabularyAcceptParams) ([]*catalog.VocabularyTerm, error)
}

// ReviewList is GET /v1/reviews.
type ReviewList struct {
	Reviews []*catalog.Review     `json:"reviews"`
	Next    string                `json:"next,omitempty"`
	Counts  *catalog.ReviewCounts `json:"counts"`
}

// ReviewItem is GET /v1/reviews/{id}: the queue entry, the media record
// and the document as the reviewers left it, at Version.
type ReviewItem struct {
	Review   *catalog.Review     `json:"review"`
	Media    *catalog.Media      `json:"media"`
	Document *pipeline.ReviewDoc `json:"document"`
	Version  int64               `json:"version"`
}

// ReviewDecision is the body of POST /v1/reviews/{id}/decision.
type ReviewDecision struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	// Round, when set, must be the item's round (the one the reviewer saw).
	Round      int      `json:"round,omitempty"`
	Step       string   `json:"step,omitempty"`
	Vocabulary []string `json:"vocabulary,omitempty"`
	// Edits are applied as one version before an approval; After, when
	// set, must be the version they were made on.
	Edits []pipeline.Edit `json:"edits,omitempty"`
	After int64           `json:"after,omitempty"`
	// Reviewer names the person on open installations (keyed requests
	// are attributed to their key).
	Reviewer string `json:"reviewer,omitempty"`
}

func (s *Server) reviewRoutes(api func(method, pattern string, access Access, h handler)) {
	api("GET", "/v1/reviews", AccessReview, s.reviewList)
	// The decisions export is the tenant's training data (every item's
	// machine output and reviewed version): tenant keys, not reviewers.
	api("GET", "/v1/reviews/export", AccessTenantRead, s.reviewExport)
	api("GET", "/v1/reviews/{id}", AccessReviewItem, s.reviewGet)
	api("POST", "/v1/reviews/{id}/claim", AccessReviewItem, s.reviewClaim)
	api("POST", "/v1/reviews/{id}/release", AccessReviewItem, s.reviewRelease)
	api("POST", "/v1/reviews/{id}/edits", AccessReviewItem, s.reviewEdit)
	api("POST", "/v1/reviews/{id}/decision", AccessReviewItem, s.reviewDecide)
	api("GET", "/v1/media/{id}/versions", AccessReviewItem, s.mediaVersions)
	api("GET", "/v1/vocabulary", AccessReview, s.vocabularyList)
	api("POST", "/v1/vocabulary/accept", AccessTenantWrite, s.vocabularyAccept)
}

func (s *Server) vocabularyList(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	terms, err := rs.Vocabulary(r.Context(), tenantFor(r), strings.ToLower(r.URL.Query().Get("state")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"terms": terms})
	return nil
}

// vocabularyAccept accepts suggested terms in one call: {"terms": [...]}
// or {"all": true}.
func (s *Server) vocabularyAccept(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	var body struct {
		Terms []string `json:"terms"`
		All   bool     `json:"all"`
	}
	if err := decodeJSON(r, 64<<10, &body); err != nil {
		return err
	}
	who, err := reviewerOf(r, "")
	if err != nil {
		return err
	}
	terms, err := rs.AcceptVocabulary(r.Context(), &catalog.VocabularyAcceptParams{TenantID: tenantFor(r), Terms: body.Terms, All: body.All, By: who})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"accepted": terms})
	return nil
}

func (s *Server) reviewsOrUnavailable() (Reviews, error) {
	if s.cfg.Reviews == nil {
		return nil, errcode.New(errcode.NotImplemented, "the review queue is not served by this server")
	}
	return s.cfg.Reviews, nil
}

// reviewerOf names the person acting: the key on keyed installations, the
// name given (or "anonymous") on open ones.
func reviewerOf(r *http.Request, given string) (string, error) {
	p, _ := identity.FromContext(r.Context())
	if p.KeyID != "" {
		return ReviewerName(p), nil
	}
	given = strings.TrimSpace(given)
	if given == "" {
		given = strings.TrimSpace(r.URL.Query().Get("reviewer"))
	}
	if given == "" {
		return "anonymous", nil
	}
	if len(given) > 100 || strings.ContainsAny(given, "\n\r\t") {
		return "", errcode.New(errcode.Invalid, "reviewer: at most 100 bytes on one line")
	}
	return given, nil
}

func (s *Server) reviewList(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p := &catalog.ReviewListParams{TenantID: tenantFor(r), State: strings.ToUpper(q.Get("state")), Reason: q.Get("reason"),
		Kind: types.Kind(strings.ToLower(q.Get("kind"))), Sort: q.Get("sort"), Cursor: q.Get("cursor")}
	if p.State == "ALL" {
		p.State = "all"
	}
	if who, _ := identity.FromContext(r.Context()); who.Role == identity.RoleReviewer {
		// A reviewer key sees the items waiting and the ones it decided
		// (the access layer lets it reach no other item).
		p.VisibleTo = ReviewerName(who)
	}
	if v := q.Get("older_than"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errcode.New(errcode.Invalid, "older_than: %q is not a duration such as 30m or 24h", v)
		}
		p.OlderThan = d
	}
	if p.Limit, err = parseLimit(q.Get("limit")); err != nil {
		return err
	}
	if p.Limit > 500 {
		return errcode.New(errcode.Invalid, "limit: at most 500 review items a page")
	}
	out, err := rs.List(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) reviewGet(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	item, err := rs.Get(r.Context(), tenantFor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, item)
	return nil
}

func (s *Server) reviewClaim(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	var body struct {
		LeaseSeconds int    `json:"lease_seconds"`
		Reviewer     string `json:"reviewer"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, 4<<10, &body); err != nil {
			return err
		}
	}
	if body.LeaseSeconds < 0 || body.LeaseSeconds > 86400 {
		return errcode.New(errcode.Invalid, "lease_seconds: %d is outside 0..86400", body.LeaseSeconds)
	}
	who, err := reviewerOf(r, body.Reviewer)
	if err != nil {
		return err
	}
	rv, err := rs.Claim(r.Context(), tenantFor(r), r.PathValue("id"), who, time.Duration(body.LeaseSeconds)*time.Second)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rv)
	return nil
}

func (s *Server) reviewRelease(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	var body struct {
		Reviewer string `json:"reviewer"`
		Force    bool   `json:"force"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, 4<<10, &body); err != nil {
			return err
		}
	}
	who, err := reviewerOf(r, body.Reviewer)
	if err != nil {
		return err
	}
	p, _ := identity.FromContext(r.Context())
	if body.Force && p.Role == identity.RoleReviewer {
		return errcode.New(errcode.PermissionDenied, "force: only a tenant or admin key releases another reviewer's claim")
	}
	rv, err := rs.Release(r.Context(), tenantFor(r), r.PathValue("id"), who, body.Force)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rv)
	return nil
}

func (s *Server) reviewEdit(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	var body struct {
		After    int64           `json:"after"`
		Edits    []pipeline.Edit `json:"edits"`
		Reviewer string          `json:"reviewer"`
	}
	if err := decodeJSON(r, 1<<20, &body); err != nil {
		return err
	}
	who, err := reviewerOf(r, body.Reviewer)
	if err != nil {
		return err
	}
	v, err := rs.Edit(r.Context(), tenantFor(r), r.PathValue("id"), who, body.After, body.Edits)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) reviewDecide(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	var d ReviewDecision
	if err := decodeJSON(r, 1<<20, &d); err != nil {
		return err
	}
	who, err := reviewerOf(r, d.Reviewer)
	if err != nil {
		return err
	}
	rv, err := rs.Decide(r.Context(), tenantFor(r), r.PathValue("id"), who, &d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rv)
	return nil
}

func (s *Server) mediaVersions(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	vs, err := rs.Versions(r.Context(), tenantFor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"media_id": r.PathValue("id"), "versions": vs})
	return nil
}

// reviewExport streams the tenant's decisions as JSON lines.
func (s *Server) reviewExport(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviewsOrUnavailable()
	if err != nil {
		return err
	}
	tenant := tenantFor(r)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", contentDisposition("attachment", tenant+"-review-decisions.jsonl"))
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err = rs.Export(r.Context(), tenant, func(v any) error {
		n++
		return enc.Encode(v)
	})
	if err != nil && n == 0 {
		w.Header().Del("Content-Disposition")
		return err
	}
	if err != nil {
		s.log.Error("review export cut short", "tenant", tenant, "lines", n, "err", err)
	}
	return bw.Flush()
}
