package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ReviewPolicy is the review-policy task's output ($.review_policy): whether
// the item waits for a person, why, and how long.
type ReviewPolicy struct {
	Needed           bool                   `json:"needed"`
	Policy           string                 `json:"policy"`
	Reasons          []catalog.ReviewReason `json:"reasons"`
	Priority         int                    `json:"priority"`
	TimeoutSeconds   int                    `json:"timeout_seconds"`
	HeartbeatSeconds int                    `json:"heartbeat_seconds"`
	Escalations      int                    `json:"escalations"`
	MaxEscalations   int                    `json:"max_escalations"`
	// Escalated is set by the escalation task for the round it opens.
	Escalated bool `json:"escalated"`
	// Expired is set when the item timed out more often than
	// MaxEscalations allows.
	Expired bool `json:"expired"`
}

// ReviewOutcome is what a decision resumes the execution with ($.review).
type ReviewOutcome struct {
	Outcome    string   `json:"outcome"`
	Reason     string   `json:"reason,omitempty"`
	Reviewer   string   `json:"reviewer"`
	Round      int      `json:"round"`
	Version    int64    `json:"version,omitempty"`
	Step       string   `json:"step,omitempty"`
	Vocabulary []string `json:"vocabulary,omitempty"`
}

// Steps a change request may re-run.
const (
	StepTranscribe = "transcribe"
	StepSummarise  = "summarise"
)

// ErrReviewTimedOut is the error of an item that waited past its last
// escalation.
const ErrReviewTimedOut = "Review.TimedOut"

// ErrReviewRejected is the error name recorded on a rejected item (its
// status is REJECTED, not FAILED).
const ErrReviewRejected = "Review.Rejected"

type reviewInput struct {
	Media    Media                      `json:"media"`
	Classify json.RawMessage            `json:"classify"`
	Results  map[string]json.RawMessage `json:"results"`
	Review   *ReviewOutcome             `json:"review"`
	Policy   *ReviewPolicy              `json:"policy"`
	Token    string                     `json:"task_token"`
}

// ReviewPolicyTask decides whether a processed item waits for review: the
// tenant's policy (off, auto, all) and, under auto or all, the reasons the
// results give — a transcript's mean confidence below the threshold,
// moderation labels at or above theirs, sections the summariser marked
// low-confidence, expected vocabulary (the upload's own words and those a
// reviewer added) not heard. An item back from a change request is always
// reviewed again.
func (t *Tasks) ReviewPolicyTask(ctx context.Context, c Call) (json.RawMessage, error) {
	var in reviewInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, k, err := t.scopedMedia(ctx, c, &in.Media)
	if err != nil {
		return nil, err
	}
	rc := t.cfg.Review
	out := ReviewPolicy{Policy: t.cfg.ReviewPolicy(s.Tenant), Reasons: []catalog.ReviewReason{},
		TimeoutSeconds: int(rc.Timeout.Seconds()), MaxEscalations: rc.MaxEscalations}
	if out.TimeoutSeconds <= 0 {
		out.TimeoutSeconds = int((72 * time.Hour).Seconds())
	}
	out.HeartbeatSeconds = int(rc.Heartbeat.Seconds())
	if out.HeartbeatSeconds <= 0 || out.HeartbeatSeconds > out.TimeoutSeconds {
		out.HeartbeatSeconds = out.TimeoutSeconds
	}
	add := func(code, detail string, times []float64, prio int) {
		out.Reasons = append(out.Reasons, catalog.ReviewReason{Code: code, Detail: detail, Times: times})
		out.Priority += prio
	}
	// The tenant's moderation policy (moderation: review rules) sends an
	// item to review whatever the review policy says; Persist recorded its
	// decision, with the frames as evidence.
	if d := t.moderationDecisionOf(ctx, s, in.Media.ID); d != nil && d.Action == "review" {
		var why []string
		var times []float64
		for _, r := range d.Reasons {
			why = append(why, fmt.Sprintf("%s %.0f%% ≥ %.0f%%", r.Label, r.Confidence, r.Threshold))
			times = append(times, float64(r.TimestampMS)/1000)
		}
		add(catalog.ReasonModeration, "the "+d.Policy+" moderation policy asks for review: "+strings.Join(why, ", "), times, 10)
		out.Needed = true
		return json.Marshal(out)
	}
	if out.Policy == config.ReviewOff && (in.Review == nil || in.Review.Outcome != catalog.OutcomeChangesRequested) {
		return json.Marshal(out)
	}
	if in.Review != nil && in.Review.Outcome == catalog.OutcomeChangesRequested {
		add(catalog.ReasonChangesRequested, fmt.Sprintf("%s asked to run %s again", in.Review.Reviewer, in.Review.Step), nil, 5)
	}
	if out.Policy == config.ReviewAll {
		add(catalog.ReasonTenantPolicy, "tenant "+s.Tenant+" reviews every item", nil, 0)
	}
	var tr *types.Transcript
	if raw := in.Results[analyser.TaskTranscribe]; raw != nil {
		r, err := loadResult(ctx, s, raw, "/results/transcribe")
		if err != nil {
			return nil, err
		}
		if r != nil {
			tr = &types.Transcript{}
			if err := json.Unmarshal(r.output, tr); err != nil {
				return nil, errcode.Wrap(errcode.Invalid, err, "results/transcribe")
			}
		}
	}
	var ins types.Insights
	if raw := in.Results[analyser.TaskSummarise]; raw != nil {
		r, err := loadResult(ctx, s, raw, "/results/summarise")
		if err != nil {
			return nil, err
		}
		if r != nil {
			if err := json.Unmarshal(r.output, &ins); err != nil {
				return nil, errcode.Wrap(errcode.Invalid, err, "results/summarise")
			}
		}
	}
	if tr != nil && len(tr.Words) > 0 {
		sum := 0.0
		var low []float64
		for _, w := range tr.Words {
			sum += w.Confidence
			if w.Confidence < rc.MinConfidence && len(low) < 50 {
				low = append(low, w.Start)
			}
		}
		if mean := sum / float64(len(tr.Words)); mean < rc.MinConfidence {
			add(catalog.ReasonLowConfidence, fmt.Sprintf("mean word confidence %.2f is below %.2f", mean, rc.MinConfidence), low, 2)
		}
	}
	var flagged []string
	var times []float64
	for _, m := range ins.Moderation {
		if m.Confidence >= rc.ModerationThreshold {
			flagged = append(flagged, fmt.Sprintf("%s %.0f%%", m.Name, m.Confidence))
			times = append(times, m.Timestamp)
		}
	}
	if len(flagged) > 0 {
		add(catalog.ReasonModeration, "moderation labels at or above "+fmt.Sprintf("%.0f%%", rc.ModerationThreshold)+": "+
			strings.Join(flagged, ", "), times, 10)
	}
	if len(ins.LowConfidence) > 0 {
		add(catalog.ReasonLowConfidenceResult, "the summariser marked these low-confidence: "+strings.Join(ins.LowConfidence, ", "), nil, 1)
	}
	if tr != nil {
		if missed := missedVocabulary(ctx, s, k, tr, in.Review); len(missed) > 0 {
			add(catalog.ReasonVocabularyMissed, "expected but not heard: "+strings.Join(missed, ", "), nil, 1)
		}
	}
	out.Needed = len(out.Reasons) > 0
	return json.Marshal(out)
}

// missedVocabulary lists the terms expected in this media item (the
// upload's own vocabulary and the words a reviewer asked for) that the
// transcript does not contain.
func missedVocabulary(ctx context.Context, s *Scope, k Key, tr *types.Transcript, prev *ReviewOutcome) []string {
	var want []string
	if attrs, err := s.Bucket.Attributes(ctx, k.String()); err == nil {
		want = append(want, strings.Split(attrs.Metadata[MetaVocabulary], ",")...)
	}
	if prev != nil {
		want = append(want, prev.Vocabulary...)
	}
	text := " " + normaliseWords(tr.Text) + " "
	var missed []string
	seen := map[string]bool{}
	for _, w := range want {
		n := normaliseWords(w)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		if !strings.Contains(text, " "+n+" ") {
			missed = append(missed, strings.TrimSpace(w))
		}
	}
	return missed
}

func normaliseWords(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 || r == '\'')
	})
	return strings.Join(f, " ")
}

// Event detail types of the review queue.
const (
	EventReviewQueued    = "Review Queued"
	EventReviewDecided   = "Review Decided"
	EventReviewEscalated = "Review Escalated"
	EventMediaRejected   = "Media Rejected"
)

// ReviewEvent builds a review queue event (source landfall.review).
func ReviewEvent(detailType string, detail any) (catalog.OutboxEvent, error) {
	ev := Event(detailType, detail)
	ev.Source = "landfall.review"
	return bus.OutboxEvent(ev)
}

// ReviewOpenTask runs when the pipeline starts waiting for a decision
// (a .waitForTaskToken task): it keeps the machine's results as a version
// (first round, or new results after a change request), marks the media
// IN_REVIEW and puts it in the queue with the round's task token, the
// reasons and the due time, emitting Review Queued in the same
// transaction. A repeated delivery of one round changes nothing.
func (t *Tasks) ReviewOpenTask(ctx context.Context, c Call) (json.RawMessage, error) {
	var in reviewInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, err := t.scope(c)
	if err != nil {
		return nil, err
	}
	if in.Token == "" || in.Policy == nil {
		return nil, errcode.New(ErrRuntime, "%s: needs task_token ($$.Task.Token) and policy ($.review_policy)", c.Resource)
	}
	if _, err := s.Media(ctx, &in.Media, "/media"); err != nil {
		return nil, err
	}
	m, err := s.Catalog.MediaGet(ctx, in.Media.ID)
	if err != nil {
		return nil, err
	}
	cur, err := t.opt.Catalog.ReviewGet(ctx, &catalog.ReviewGetParams{TenantID: s.Tenant, MediaID: m.ID})
	switch {
	case err == nil && cur.TaskToken == in.Token:
		// This round is open already (a repeated delivery).
		if m.Status != types.StatusInReview {
			if _, err := s.Catalog.MediaUpdate(ctx, catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusInReview}); err != nil {
				return nil, err
			}
		}
		return json.RawMessage(`{}`), nil
	case err != nil && !errors.Is(err, errcode.NotFound):
		return nil, err
	}
	round := 1
	if cur != nil {
		round = cur.Round + 1
	}
	if !in.Policy.Escalated {
		if err := t.saveMachineVersion(ctx, s, m, round); err != nil {
			return nil, err
		}
	}
	reasons := in.Policy.Reasons
	if len(reasons) == 0 {
		reasons = []catalog.ReviewReason{{Code: catalog.ReasonTenantPolicy, Detail: "the pipeline asked for a review"}}
	}
	due := t.opt.Now().Add(time.Duration(in.Policy.TimeoutSeconds) * time.Second)
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = r.Code
	}
	ev, err := ReviewEvent(EventReviewQueued, map[string]any{"media_id": m.ID, "tenant": s.Tenant, "filename": m.Filename,
		"kind": m.Kind, "reasons": codes, "priority": in.Policy.Priority, "round": round, "due": due.UTC().Format(time.RFC3339),
		"escalated": in.Policy.Escalated})
	if err != nil {
		return nil, err
	}
	if _, err := t.opt.Catalog.ReviewOpen(ctx, &catalog.ReviewOpenParams{TenantID: s.Tenant, MediaID: m.ID, Filename: m.Filename,
		Kind: m.Kind, Reasons: reasons, Priority: in.Policy.Priority, ExecutionID: c.ExecutionARN, TaskToken: in.Token, DueAt: due,
		Escalate: in.Policy.Escalated, Events: []catalog.OutboxEvent{ev}}); err != nil {
		return nil, err
	}
	// The record says IN_REVIEW once the item is in the queue.
	if m.Status != types.StatusInReview {
		if _, err := s.Catalog.MediaUpdate(ctx, catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusInReview}); err != nil {
			return nil, err
		}
	}
	if t.opt.Bus != nil {
		t.opt.Bus.Notify()
	}
	t.log.Info("pipeline: waiting for review", "media_id", m.ID, "tenant", s.Tenant, "reasons", strings.Join(codes, ","), "round", round)
	return json.RawMessage(`{}`), nil
}

// MachineVersion is the body of a machine version: where its documents
// are kept.
type MachineVersion struct {
	Transcript string `json:"transcript,omitempty"`
	Insights   string `json:"insights"`
}

// saveMachineVersion copies the persisted transcript and insights aside
// (processed/<tenant>/<id>/versions/<round>/) and records them as a
// machine version: what the analysers produced, kept whatever reviewers
// change.
func (t *Tasks) saveMachineVersion(ctx context.Context, s *Scope, m *catalog.Media, round int) error {
	var body MachineVersion
	dir := fmt.Sprintf("versions/round-%d/", round)
	if m.TranscriptKey != "" {
		b, err := s.Bucket.ReadAll(ctx, m.TranscriptKey)
		if err != nil {
			return err
		}
		k, err := ProcessedKey(s.Tenant, m.ID, dir+"transcript.json")
		if err != nil {
			return err
		}
		if err := s.Bucket.WriteAll(ctx, k, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
			return err
		}
		body.Transcript = k.String()
	}
	ins := m.Insights
	if ins == nil {
		ins = &types.Insights{}
	}
	b, _ := json.Marshal(ins)
	k, err := ProcessedKey(s.Tenant, m.ID, dir+"insights.json")
	if err != nil {
		return err
	}
	if err := s.Bucket.WriteAll(ctx, k, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return err
	}
	body.Insights = k.String()
	raw, _ := json.Marshal(body)
	_, err = t.opt.Catalog.MediaVersionAdd(ctx, &catalog.MediaVersionAddParams{TenantID: s.Tenant, MediaID: m.ID,
		Kind: catalog.VersionMachine, Author: "landfall", Round: round, Body: raw, Note: "analysis results, round " + fmt.Sprint(round)})
	return err
}

// ReviewEscalateTask runs when a round's wait timed out: the item's
// priority goes up and it is queued again, or, past MaxEscalations, the
// policy is marked expired (the state machine then fails the item with
// Review.TimedOut).
func (t *Tasks) ReviewEscalateTask(ctx context.Context, c Call) (json.RawMessage, error) {
	var in reviewInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, err := t.scope(c)
	if err != nil {
		return nil, err
	}
	if in.Policy == nil {
		return nil, errcode.New(ErrRuntime, "%s: needs policy ($.review_policy)", c.Resource)
	}
	if _, err := s.Media(ctx, &in.Media, "/media"); err != nil {
		return nil, err
	}
	p := *in.Policy
	p.Escalations++
	p.Escalated = true
	p.Priority += 10
	if p.Escalations > p.MaxEscalations {
		p.Expired = true
	}
	have := false
	for _, r := range p.Reasons {
		have = have || r.Code == catalog.ReasonEscalated
	}
	if !have {
		p.Reasons = append(p.Reasons, catalog.ReviewReason{Code: catalog.ReasonEscalated, Detail: "no decision in time"})
	}
	for i := range p.Reasons {
		if p.Reasons[i].Code == catalog.ReasonEscalated {
			p.Reasons[i].Detail = fmt.Sprintf("no decision within %s, %d time(s)", time.Duration(p.TimeoutSeconds)*time.Second, p.Escalations)
		}
	}
	ev, err := ReviewEvent(EventReviewEscalated, map[string]any{"media_id": in.Media.ID, "tenant": s.Tenant,
		"escalations": p.Escalations, "expired": p.Expired, "priority": p.Priority})
	if err != nil {
		return nil, err
	}
	if err := t.opt.Catalog.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: []catalog.OutboxEvent{ev}}); err != nil {
		return nil, err
	}
	if t.opt.Bus != nil {
		t.opt.Bus.Notify()
	}
	t.log.Warn("pipeline: review timed out", "media_id", in.Media.ID, "tenant", s.Tenant, "escalations", p.Escalations, "expired", p.Expired)
	return json.Marshal(p)
}

// ReviewRerunTask prepares a change request's re-run: the words the
// reviewer added join the transcription vocabulary in $.media.options.
func (t *Tasks) ReviewRerunTask(ctx context.Context, c Call) (json.RawMessage, error) {
	var in reviewInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, err := t.scope(c)
	if err != nil {
		return nil, err
	}
	if _, err := s.Media(ctx, &in.Media, "/media"); err != nil {
		return nil, err
	}
	m := in.Media
	if m.Options == nil {
		m.Options = map[string]any{}
	}
	tro, _ := m.Options["transcribe"].(map[string]any)
	if tro == nil {
		tro = map[string]any{}
	}
	var vocab []string
	seen := map[string]bool{}
	if raw, ok := tro["vocabulary"].([]any); ok {
		for _, v := range raw {
			if s, ok := v.(string); ok && !seen[strings.ToLower(s)] {
				seen[strings.ToLower(s)] = true
				vocab = append(vocab, s)
			}
		}
	}
	if in.Review != nil {
		for _, v := range in.Review.Vocabulary {
			if v = strings.TrimSpace(v); v != "" && !seen[strings.ToLower(v)] {
				seen[strings.ToLower(v)] = true
				vocab = append(vocab, v)
			}
		}
	}
	if len(vocab) > 0 {
		tro["vocabulary"] = vocab
	}
	m.Options["transcribe"] = tro
	return json.Marshal(m)
}

// ReviewApplyTask publishes the approved version: the transcript with the
// reviewers' edits (and its captions) replaces transcript.json, and the
// edited insights, summary and search index replace the record's.
func (t *Tasks) ReviewApplyTask(ctx context.Context, c Call) (json.RawMessage, error) {
	var in reviewInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, err := t.scope(c)
	if err != nil {
		return nil, err
	}
	if in.Review == nil {
		return nil, errcode.New(ErrRuntime, "%s: needs review ($.review)", c.Resource)
	}
	if _, err := s.Media(ctx, &in.Media, "/media"); err != nil {
		return nil, err
	}
	doc, version, err := CurrentReviewDoc(ctx, s, t.opt.Catalog, in.Media.ID, in.Review.Version)
	if err != nil {
		return nil, err
	}
	m, err := t.PublishReviewDoc(ctx, s, in.Media.ID, doc)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{"version": version, "round": in.Review.Round})
	if _, err := t.opt.Catalog.MediaVersionAdd(ctx, &catalog.MediaVersionAddParams{TenantID: s.Tenant, MediaID: m.ID,
		Kind: catalog.VersionApproved, Author: in.Review.Reviewer, Round: in.Review.Round, Body: body,
		Note: fmt.Sprintf("approved version %d", version)}); err != nil {
		return nil, err
	}
	t.suggestVocabulary(ctx, s, m.ID, version)
	t.log.Info("pipeline: review approved", "media_id", m.ID, "tenant", s.Tenant, "version", version, "reviewer", in.Review.Reviewer)
	return json.Marshal(map[string]any{"media_id": m.ID, "tenant": s.Tenant, "transcript_key": m.TranscriptKey,
		"captions_key": m.CaptionsKey, "summary": m.Summary, "approved_version": version})
}

// PublishReviewDoc writes a document as the media item's results: the
// transcript and captions beside the media, the insights and search
// index in the record.
func (t *Tasks) PublishReviewDoc(ctx context.Context, s *Scope, mediaID string, doc *ReviewDoc) (*catalog.Media, error) {
	ins := doc.Insights
	if ins == nil {
		ins = &types.Insights{}
	}
	upd := catalog.MediaUpdateParams{ID: mediaID, Insights: ins, Summary: ins.Summary}
	if doc.Transcript != nil {
		keys, err := t.writeTranscript(ctx, s, mediaID, doc.Transcript)
		if err != nil {
			return nil, err
		}
		upd.TranscriptKey, upd.CaptionsKey, upd.Transcript = keys.transcript, keys.captions, doc.Transcript
	}
	row, err := s.Catalog.MediaUpdate(ctx, upd)
	if err != nil {
		return nil, err
	}
	// The index is rebuilt from the published record and transcript: a
	// version that leaves the transcript as it was keeps the stored one's
	// words in the index.
	tr := doc.Transcript
	if tr == nil && row.TranscriptKey != "" {
		b, err := s.Bucket.ReadAll(ctx, row.TranscriptKey)
		if err != nil {
			return nil, err
		}
		tr = &types.Transcript{}
		if err := json.Unmarshal(b, tr); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "media %s: transcript %s", mediaID, row.TranscriptKey)
		}
	}
	if _, err := s.Catalog.SearchIndex(ctx, row, tr); errcode.Of(err) == errcode.NotImplemented {
		t.log.Warn("pipeline: reviewed version not indexed for search", "media_id", mediaID, "err", err)
	} else if err != nil {
		return nil, err
	}
	return row, nil
}

type transcriptKeys struct{ transcript, captions string }

// writeTranscript stores a transcript as transcript.json and its caption
// files beside the media.
func (t *Tasks) writeTranscript(ctx context.Context, s *Scope, mediaID string, tr *types.Transcript) (transcriptKeys, error) {
	var out transcriptKeys
	b, _ := json.MarshalIndent(tr, "", " ")
	tk, err := ProcessedKey(s.Tenant, mediaID, "transcript.json")
	if err != nil {
		return out, err
	}
	if err := s.Bucket.WriteAll(ctx, tk, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return out, err
	}
	out.transcript = tk.String()
	names := make([]string, 0, len(t.opt.Captions))
	for name := range t.opt.Captions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		e := t.opt.Captions[name]
		var buf strings.Builder
		if err := e.Write(&buf, tr); err != nil {
			return out, err
		}
		ck, err := ProcessedKey(s.Tenant, mediaID, name)
		if err != nil {
			return out, err
		}
		if err := s.Bucket.WriteAll(ctx, ck, []byte(buf.String()), &blob.WriterOptions{ContentType: e.ContentType}); err != nil {
			return out, err
		}
		if name == "captions.vtt" {
			out.captions = ck.String()
		}
	}
	return out, nil
}

// ReviewRejectTask ends a rejected item: REJECTED with the reviewer's
// reason (an outcome, not a failure), a rejected version in its history,
// and a Media Rejected event in the same transaction as the status.
func (t *Tasks) ReviewRejectTask(ctx context.Context, c Call) (json.RawMessage, error) {
	var in reviewInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, err := t.scope(c)
	if err != nil {
		return nil, err
	}
	if in.Review == nil {
		return nil, errcode.New(ErrRuntime, "%s: needs review ($.review)", c.Resource)
	}
	if _, err := s.Media(ctx, &in.Media, "/media"); err != nil {
		return nil, err
	}
	m, err := s.Catalog.MediaGet(ctx, in.Media.ID)
	if err != nil {
		return nil, err
	}
	if m.Status == types.StatusRejected {
		return json.Marshal(map[string]any{"media_id": m.ID, "status": m.Status, "reason": m.Cause})
	}
	body, _ := json.Marshal(map[string]any{"reason": in.Review.Reason, "round": in.Review.Round})
	if _, err := t.opt.Catalog.MediaVersionAdd(ctx, &catalog.MediaVersionAddParams{TenantID: s.Tenant, MediaID: m.ID,
		Kind: catalog.VersionRejected, Author: in.Review.Reviewer, Round: in.Review.Round, Body: body, Note: in.Review.Reason}); err != nil {
		return nil, err
	}
	ev := Event(EventMediaRejected, map[string]any{"media_id": m.ID, "tenant": s.Tenant, "filename": m.Filename,
		"reason": in.Review.Reason, "reviewer": in.Review.Reviewer})
	row, err := bus.OutboxEvent(ev)
	if err != nil {
		return nil, err
	}
	cause := fmt.Sprintf("rejected by %s: %s", in.Review.Reviewer, in.Review.Reason)
	if _, err := s.Catalog.MediaUpdate(ctx, catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusRejected, Error: ErrReviewRejected,
		Cause: catalog.TruncateText(cause, 2000), Events: []catalog.OutboxEvent{row}}); err != nil {
		return nil, err
	}
	if t.opt.Bus != nil {
		t.opt.Bus.Notify()
	}
	t.mediaDone(types.StatusRejected)
	t.log.Info("pipeline: media rejected", "media_id", m.ID, "tenant", s.Tenant, "reviewer", in.Review.Reviewer)
	return json.Marshal(map[string]any{"media_id": m.ID, "status": types.StatusRejected, "reason": in.Review.Reason})
}

// CurrentReviewDoc builds a media item's reviewed document at version
// upTo (0: the latest): the last machine version at or before it with
// every edit after it applied. It returns the document and the version it
// stands at.
func CurrentReviewDoc(ctx context.Context, s *Scope, st catalog.Store, mediaID string, upTo int64) (*ReviewDoc, int64, error) {
	vs, err := st.MediaVersionList(ctx, &catalog.MediaVersionListParams{TenantID: s.Tenant, MediaID: mediaID})
	if err != nil {
		return nil, 0, err
	}
	if upTo > 0 {
		n := 0
		for n < len(vs) && vs[n].Version <= upTo {
			n++
		}
		if n == 0 || vs[n-1].Version != upTo {
			return nil, 0, errcode.New(errcode.Invalid, "version: media %s has no version %d", mediaID, upTo)
		}
		vs = vs[:n]
	}
	base := -1
	for i, v := range vs {
		if v.Kind == catalog.VersionMachine {
			base = i
		}
	}
	if base < 0 {
		return nil, 0, errcode.New(errcode.FailedPrecond, "media %s has no analysis results kept for review", mediaID)
	}
	var mv MachineVersion
	if err := json.Unmarshal(vs[base].Body, &mv); err != nil {
		return nil, 0, errcode.Wrap(errcode.Unknown, err, "media %s version %d", mediaID, vs[base].Version)
	}
	doc := &ReviewDoc{Insights: &types.Insights{}}
	if mv.Transcript != "" {
		b, err := s.Bucket.ReadAll(ctx, mv.Transcript)
		if err != nil {
			return nil, 0, err
		}
		doc.Transcript = &types.Transcript{}
		if err := json.Unmarshal(b, doc.Transcript); err != nil {
			return nil, 0, errcode.Wrap(errcode.Unknown, err, "%s", mv.Transcript)
		}
	}
	b, err := s.Bucket.ReadAll(ctx, mv.Insights)
	if err != nil {
		return nil, 0, err
	}
	if err := json.Unmarshal(b, doc.Insights); err != nil {
		return nil, 0, errcode.Wrap(errcode.Unknown, err, "%s", mv.Insights)
	}
	for _, v := range vs[base+1:] {
		if v.Kind != catalog.VersionEdit {
			continue
		}
		var edits []Edit
		if err := json.Unmarshal(v.Body, &edits); err != nil {
			return nil, 0, errcode.Wrap(errcode.Unknown, err, "media %s version %d", mediaID, v.Version)
		}
		if _, err := ApplyEdits(doc, edits); err != nil {
			return nil, 0, errcode.Wrap(errcode.Unknown, err, "media %s version %d no longer applies", mediaID, v.Version)
		}
	}
	return doc, vs[len(vs)-1].Version, nil
}

// suggestVocabulary turns an approved version's corrections into
// suggestions for the tenant's vocabulary: each corrected word (not a
// change of case or punctuation only) and each speaker's given name. A
// tenant admin accepts them (POST /v1/vocabulary/accept) and later
// transcriptions use them.
func (t *Tasks) suggestVocabulary(ctx context.Context, s *Scope, mediaID string, upTo int64) {
	vs, err := t.opt.Catalog.MediaVersionList(ctx, &catalog.MediaVersionListParams{TenantID: s.Tenant, MediaID: mediaID})
	if err != nil {
		return
	}
	var terms []catalog.VocabularyTerm
	seen := map[string]bool{}
	for _, v := range vs {
		if v.Version > upTo {
			break
		}
		if v.Kind == catalog.VersionMachine {
			terms, seen = nil, map[string]bool{}
		}
		if v.Kind != catalog.VersionEdit {
			continue
		}
		var edits []Edit
		if json.Unmarshal(v.Body, &edits) != nil {
			continue
		}
		for _, e := range edits {
			var after, before string
			_ = json.Unmarshal(e.Value, &after)
			_ = json.Unmarshal(e.Before, &before)
			source := ""
			switch e.Op {
			case EditWord:
				source = "word"
				if normaliseWords(after) == normaliseWords(before) {
					continue
				}
			case EditSpeaker:
				source = "speaker"
			default:
				continue
			}
			term := strings.TrimFunc(strings.TrimSpace(after), func(r rune) bool { return strings.ContainsRune(".,;:!?\"'()", r) })
			if term == "" || len(term) > 100 || strings.ContainsAny(term, ",\n\r\t") || seen[strings.ToLower(term)] {
				continue
			}
			seen[strings.ToLower(term)] = true
			terms = append(terms, catalog.VocabularyTerm{Term: term, Source: source, MediaID: mediaID})
		}
	}
	if len(terms) == 0 {
		return
	}
	if err := t.opt.Catalog.VocabularySuggest(ctx, &catalog.VocabularySuggestParams{TenantID: s.Tenant, Terms: terms}); err != nil {
		t.log.Warn("pipeline: vocabulary suggestions not recorded", "media_id", mediaID, "err", err)
	}
}
