package apiserver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/types"
)

// tenantFor returns the tenant a request acts for: the routes that call it
// are tenant routes, whose guard has settled the tenant and checked that
// the principal acts for it.
func tenantFor(r *http.Request) string {
	p, _ := identity.FromContext(r.Context())
	return p.Tenant
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return time.Now().Add(-d), nil // "since=24h" means the last 24 hours
	}
	return time.Time{}, errcode.New(errcode.Invalid, "%s: %q is neither an RFC 3339 time nor a duration such as 24h", field, v)
}

// parseWindow reads the since and until query parameters.
func parseWindow(q url.Values) (since, until time.Time, err error) {
	if since, err = parseTime("since", q.Get("since")); err != nil {
		return
	}
	until, err = parseTime("until", q.Get("until"))
	return
}

func parseLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, errcode.New(errcode.Invalid, "limit: %q is not a number from 1 to 1000", v)
	}
	return n, nil
}

func (s *Server) mediaList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p := &catalog.MediaListParams{TenantID: tenantFor(r), Status: types.Status(strings.ToUpper(q.Get("status"))),
		Kind: types.Kind(strings.ToLower(q.Get("kind"))), Cursor: q.Get("cursor")}
	var err error
	if p.Since, p.Until, err = parseWindow(q); err != nil {
		return err
	}
	if p.Limit, err = parseLimit(q.Get("limit")); err != nil {
		return err
	}
	page, err := s.cfg.Catalog.MediaList(r.Context(), p)
	if err != nil {
		return err
	}
	if page.Media == nil {
		page.Media = []*catalog.Media{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) media(r *http.Request) (*catalog.Media, error) {
	return s.cfg.Catalog.MediaGet(r.Context(), &catalog.MediaGetParams{ID: r.PathValue("id"), TenantID: tenantFor(r)})
}

// mediaView is a media record with the URLs of its exports and, for a
// failed item, whether a redrive can help.
type mediaView struct {
	*catalog.Media
	Links     map[string]string `json:"links"`
	Retryable *bool             `json:"retryable,omitempty"`
}

func newMediaView(m *catalog.Media) mediaView {
	v := mediaView{Media: m, Links: links(m)}
	if m.Status == types.StatusFailed {
		ok, _ := catalog.Retryable(m.Error)
		v.Retryable = &ok
	}
	return v
}

func links(m *catalog.Media) map[string]string {
	base := "/v1/media/" + m.ID
	l := map[string]string{"self": base}
	if m.Kind == types.KindVideo || m.Kind == types.KindImage {
		l["frame_jpg"] = base + "/frame.jpg"
	}
	if m.Status == types.StatusSucceeded {
		l["insights"] = base + "/insights.json"
		if m.TranscriptKey != "" {
			for _, e := range []string{"transcript.json", "captions.vtt", "captions.srt", "chapters.json", "transcribe.json", "podcast-transcript.json", "verbose.json"} {
				l[strings.TrimSuffix(e, "."+ext(e))+"_"+ext(e)] = base + "/" + e
			}
		}
	}
	return l
}

func ext(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

func (s *Server) mediaGet(w http.ResponseWriter, r *http.Request) error {
	m, err := s.media(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newMediaView(m))
	return nil
}

// mediaDelete removes one of the caller's tenant's media items and what
// was made from it, and says what it removed.
func (s *Server) mediaDelete(w http.ResponseWriter, r *http.Request) error {
	m, err := s.media(r)
	if err != nil {
		return err
	}
	if s.cfg.Delete == nil {
		return errcode.New(errcode.NotImplemented, "deleting media is not available on this server role")
	}
	d, err := s.cfg.Delete.DeleteMedia(r.Context(), m.TenantID, m.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// search finds moments: hits grouped by media item (best moments first,
// with the time of the matched words), the flat list of those moments as
// hits, facets and the words the query was expanded to.
func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	query := q.Get("q")
	if strings.TrimSpace(query) == "" {
		return errcode.New(errcode.Invalid, "search query: empty (give q=words)")
	}
	if s.cfg.Search == nil {
		return errcode.New(errcode.NotImplemented, "search: this server has no search index")
	}
	switch src := q.Get("source"); src {
	case "":
	case catalog.FieldSummary, catalog.FieldTranscript, catalog.FieldOCR, catalog.FieldEntity, catalog.FieldTopic,
		catalog.FieldLabel, catalog.FieldModeration, catalog.FieldChapter, catalog.FieldFilename:
		query += " field:" + src
	default:
		return errcode.New(errcode.Invalid, "source: %q is not one of %s", src, strings.Join(catalog.Fields, ", "))
	}
	p := &search.Params{TenantID: tenantFor(r), Query: query, MediaID: q.Get("media_id"), Limit: min(max(limit, 0), 100),
		Facets: q.Get("facets") != "false"}
	if v := q.Get("moments"); v != "" {
		if p.Moments, err = strconv.Atoi(v); err != nil || p.Moments < 1 || p.Moments > 20 {
			return errcode.New(errcode.Invalid, "moments: %q is not a number from 1 to 20", v)
		}
	}
	if p.MediaID != "" {
		// Search within one file: the file must be the caller's.
		if _, err := s.cfg.Catalog.MediaGet(r.Context(), &catalog.MediaGetParams{ID: p.MediaID, TenantID: p.TenantID}); err != nil {
			return err
		}
	}
	res, err := s.cfg.Search.Search(r.Context(), p)
	if err != nil {
		return err
	}
	hits := []*search.Hit{}
	for _, g := range res.Groups {
		hits = append(hits, g.Hits...)
	}
	writeJSON(w, http.StatusOK, struct {
		*search.Result
		Hits []*search.Hit `json:"hits"`
	}{res, hits})
	return nil
}

func (s *Server) failureList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p := &catalog.FailureListParams{TenantID: tenantFor(r), MediaID: q.Get("media_id"), Cursor: q.Get("cursor"), NotRedriven: q.Get("not_redriven") == "true"}
	var err error
	if p.Since, p.Until, err = parseWindow(q); err != nil {
		return err
	}
	if p.Limit, err = parseLimit(q.Get("limit")); err != nil {
		return err
	}
	page, err := s.cfg.Catalog.FailureList(r.Context(), p)
	if err != nil {
		return err
	}
	if page.Failures == nil {
		page.Failures = []*catalog.Failure{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) failure(r *http.Request) (*catalog.Failure, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errcode.New(errcode.Invalid, "failure id %q is not a number", r.PathValue("id"))
	}
	return s.cfg.Catalog.FailureGet(r.Context(), &catalog.FailureGetParams{ID: id, TenantID: tenantFor(r)})
}

func (s *Server) failureGet(w http.ResponseWriter, r *http.Request) error {
	f, err := s.failure(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) failureRedrive(w http.ResponseWriter, r *http.Request) error {
	f, err := s.failure(r)
	if err != nil {
		return err
	}
	if s.cfg.Redrive == nil {
		return errcode.New(errcode.NotImplemented, "redrive is not available on this server role")
	}
	if !f.Retryable {
		_, why := catalog.Retryable(f.ErrorName)
		if why == "" {
			why = "it was recorded as not retryable"
		}
		return errcode.New(errcode.FailedPrecond, "failure %d is not retryable: %s: %s, so a redrive would fail the same way; upload a fixed file instead",
			f.ID, f.ErrorName, why)
	}
	exec, err := s.cfg.Redrive.RedriveMedia(r.Context(), f)
	if err != nil {
		return err
	}
	f, err = s.cfg.Catalog.FailureMarkRedriven(r.Context(), &catalog.FailureMarkRedrivenParams{ID: f.ID, TenantID: f.TenantID, ExecutionID: exec})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, f)
	return nil
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p := &catalog.UsageTotalsParams{TenantID: tenantFor(r), MediaID: q.Get("media_id")}
	var err error
	if p.Since, p.Until, err = parseWindow(q); err != nil {
		return err
	}
	rep, err := s.cfg.Catalog.UsageTotals(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Uploads == nil {
		return errcode.New(errcode.NotImplemented, "uploads are not served by this server role")
	}
	if s.cfg.MaxUploadBytes > 0 && r.ContentLength > s.cfg.MaxUploadBytes {
		return errcode.New(errcode.TooLarge, "upload of %d bytes is larger than the %d-byte limit", r.ContentLength, s.cfg.MaxUploadBytes)
	}
	body := io.Reader(r.Body)
	if s.cfg.MaxUploadBytes > 0 {
		body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	}
	name := r.URL.Query().Get("filename")
	if name == "" {
		name = r.Header.Get("X-Filename")
	}
	ctype := r.Header.Get("Content-Type")
	if strings.HasPrefix(ctype, "multipart/form-data") {
		mr, err := r.MultipartReader()
		if err != nil {
			return errcode.New(errcode.Invalid, "multipart body: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				return errcode.New(errcode.Invalid, "multipart body: no \"file\" part")
			}
			if part.FormName() == "file" {
				body, name, ctype = part, part.FileName(), part.Header.Get("Content-Type")
				break
			}
		}
	}
	// The name and the vocabulary come from a query parameter (checked
	// before routing), a header or a multipart part: all must be text.
	if err := CheckText("filename", name); err != nil {
		return err
	}
	size := r.ContentLength
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		size = -1
	}
	vocab := r.URL.Query().Get("vocabulary")
	if vocab == "" {
		vocab = r.Header.Get("X-Landfall-Vocabulary")
	}
	if err := CheckText("vocabulary", vocab); err != nil {
		return err
	}
	var words []string
	for _, w := range strings.Split(vocab, ",") {
		if w = strings.TrimSpace(w); w != "" {
			words = append(words, w)
		}
	}
	prof := r.URL.Query().Get("profile")
	if prof == "" {
		prof = r.Header.Get("X-Landfall-Profile")
	}
	if err := CheckText("profile", prof); err != nil {
		return err
	}
	m, err := s.cfg.Uploads.Upload(r.Context(), &UploadParams{Tenant: tenantFor(r), Filename: name, ContentType: ctype, Size: size, Body: body, Vocabulary: words, Profile: prof})
	if err != nil {
		if mbe := new(http.MaxBytesError); errors.As(err, &mbe) {
			return errcode.New(errcode.TooLarge, "upload is larger than the %d-byte limit", s.cfg.MaxUploadBytes)
		}
		return err
	}
	w.Header().Set("Location", "/v1/media/"+m.ID)
	writeJSON(w, http.StatusCreated, newMediaView(m))
	return nil
}

func (s *Server) intake(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Uploads == nil {
		return errcode.New(errcode.NotImplemented, "intake is not served by this server role")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return errcode.New(errcode.TooLarge, "notification body: %v", err)
	}
	if err := CheckJSONText(body); err != nil {
		return err
	}
	res, err := s.cfg.Uploads.Intake(r.Context(), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, res)
	return nil
}

// putEventsRequest is EventBridge's PutEvents request.
type putEventsRequest struct {
	Entries []bus.PutEventsEntry `json:"Entries"`
}

func (s *Server) putEvents(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Bus == nil {
		return errcode.New(errcode.NotImplemented, "the event bus is not served by this server role")
	}
	var req putEventsRequest
	if err := decodeJSON(r, 2<<20, &req); err != nil {
		return err
	}
	if len(req.Entries) == 0 || len(req.Entries) > 10 {
		return errcode.New(errcode.Invalid, "/Entries: between 1 and 10 entries, got %d", len(req.Entries))
	}
	res, err := s.cfg.Bus.PutEvents(r.Context(), req.Entries)
	if err != nil {
		return err
	}
	failed := 0
	for _, e := range res {
		if e.ErrorCode != "" {
			failed++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"FailedEntryCount": failed, "Entries": res})
	return nil
}

func (s *Server) ruleList(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Bus == nil {
		return errcode.New(errcode.NotImplemented, "the event bus is not served by this server role")
	}
	rules := s.cfg.Bus.Rules()
	if rules == nil {
		rules = []RuleInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": rules})
	return nil
}

func (s *Server) rulePut(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Bus == nil {
		return errcode.New(errcode.NotImplemented, "the event bus is not served by this server role")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return errcode.New(errcode.TooLarge, "rule body: %v", err)
	}
	if !json.Valid(body) {
		return errcode.New(errcode.Invalid, "rule body is not JSON")
	}
	if err := CheckJSONText(body); err != nil {
		return err
	}
	info, err := s.cfg.Bus.PutRule(r.Context(), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, info)
	return nil
}

func (s *Server) ruleDelete(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Bus == nil {
		return errcode.New(errcode.NotImplemented, "the event bus is not served by this server role")
	}
	if err := s.cfg.Bus.DeleteRule(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
