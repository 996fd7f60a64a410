package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sort"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/nlp"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Persist writes the transcript and its captions beside the media
// (processed/<tenant>/<media id>/), and the insights, summary and search
// index into the tenant's catalog row.
func (t *Tasks) Persist(ctx context.Context, c Call) (json.RawMessage, error) {
	var in TaskInput
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
	m := &in.Media
	// A repeated attempt after the moderation policy rejected the item
	// answers as the first did (the record is final).
	if cur, err := s.Catalog.MediaGet(ctx, m.ID); err == nil && cur.Status == types.StatusRejected {
		return json.Marshal(map[string]any{"media_id": m.ID, "tenant": s.Tenant, "status": types.StatusRejected, "reason": cur.Cause})
	}
	full := map[string]json.RawMessage{}
	for name, raw := range in.Results {
		r, err := loadResult(ctx, s, raw, "/results/"+name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			full[name] = r.output
		}
	}
	var ins types.Insights
	if raw := full[analyser.TaskSummarise]; raw != nil {
		if err := json.Unmarshal(raw, &ins); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "results/summarise")
		}
	}
	vision, err := visionOf(full)
	if err != nil {
		return nil, err
	}
	if vision != nil {
		ins.Vision = vision
		dec, err := t.moderationDecision(ctx, s, m, vision)
		if err != nil {
			return nil, err
		}
		ins.ModerationDecision = dec
	}
	var kind struct {
		Kind     types.Kind `json:"kind"`
		Duration float64    `json:"duration"`
	}
	_ = json.Unmarshal(in.Classify, &kind)
	upd := catalog.MediaUpdateParams{ID: m.ID, Insights: &ins, Summary: ins.Summary, Kind: kind.Kind, Duration: kind.Duration}
	if raw := full[analyser.TaskTranscribe]; raw != nil {
		var tr types.Transcript
		if err := json.Unmarshal(raw, &tr); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "results/transcribe")
		}
		// Every export is made from the readable form: sentences,
		// punctuation at pauses, numbers as digits, and the case of the
		// names the vocabulary, the entities and the screen give.
		nlp.Readable(&tr, nlp.ReadableOptions{Names: nlp.NamesFor(vocabularyOf(m), ins.Entities, ins.OCR)})
		b, _ := json.MarshalIndent(&tr, "", " ")
		tk, err := ProcessedKey(s.Tenant, m.ID, "transcript.json")
		if err != nil {
			return nil, err
		}
		if err := s.Bucket.WriteAll(ctx, tk, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
			return nil, err
		}
		upd.TranscriptKey = tk.String()
		upd.Transcript = &tr
		names := make([]string, 0, len(t.opt.Captions))
		for name := range t.opt.Captions {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			e := t.opt.Captions[name]
			var buf bytes.Buffer
			if err := e.Write(&buf, &tr); err != nil {
				return nil, err
			}
			ck, err := ProcessedKey(s.Tenant, m.ID, name)
			if err != nil {
				return nil, err
			}
			if err := s.Bucket.WriteAll(ctx, ck, buf.Bytes(), &blob.WriterOptions{ContentType: e.ContentType}); err != nil {
				return nil, err
			}
			if name == "captions.vtt" {
				upd.CaptionsKey = ck.String()
			}
		}
	}
	rejected := ins.ModerationDecision != nil && ins.ModerationDecision.Action == "reject"
	var reason string
	if rejected {
		// The record (with the decision and its evidence) is kept and the
		// item ends REJECTED with the reason, like a reviewer's reject: an
		// outcome, not a failure. Status, reason and the Media Rejected
		// event are written in one transaction.
		reason = errcode.MessageOf(rejection(ins.ModerationDecision))
		ev := Event(EventMediaRejected, map[string]any{"media_id": m.ID, "tenant": s.Tenant, "filename": m.Filename,
			"reason": reason, "policy": ins.ModerationDecision.Policy, "by": "moderation"})
		ob, err := bus.OutboxEvent(ev)
		if err != nil {
			return nil, err
		}
		upd.Status, upd.Error, upd.Cause = types.StatusRejected, string(ErrModerationRejected), catalog.TruncateText(reason, 2000)
		upd.Events = []catalog.OutboxEvent{ob}
	}
	row, err := s.Catalog.MediaUpdate(ctx, upd)
	if err != nil {
		return nil, err
	}
	if rejected {
		if t.opt.Bus != nil {
			t.opt.Bus.Notify()
		}
		t.mediaDone(types.StatusRejected)
		t.log.Info("pipeline: media rejected by moderation", "media_id", m.ID, "tenant", s.Tenant, "policy", ins.ModerationDecision.Policy)
		return json.Marshal(map[string]any{"media_id": m.ID, "tenant": s.Tenant, "status": types.StatusRejected, "reason": reason})
	}
	entries, err := s.Catalog.SearchIndex(ctx, row, upd.Transcript)
	if errcode.Of(err) == errcode.NotImplemented {
		// A catalog without the moment index (DynamoDB): the item is
		// stored, and the log says it cannot be found by search.
		t.log.Warn("pipeline: not indexed for search", "media_id", m.ID, "err", err)
	} else if err != nil {
		return nil, err
	}
	t.log.Info("pipeline: persisted", "media_id", m.ID, "tenant", s.Tenant, "transcript", upd.TranscriptKey, "search_entries", entries)
	return json.Marshal(map[string]any{"media_id": m.ID, "tenant": s.Tenant, "transcript_key": upd.TranscriptKey,
		"captions_key": upd.CaptionsKey, "summary": ins.Summary})
}

// vocabularyOf returns the custom vocabulary the media was transcribed
// with.
func vocabularyOf(m *Media) []string {
	opts, _ := m.Options[analyser.TaskTranscribe].(map[string]any)
	var out []string
	switch v := opts["vocabulary"].(type) {
	case []string:
		out = v
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// Move moves the original to processed/<tenant>/<id>/original.<ext> and
// marks the media SUCCEEDED, with its Media Processed event in the same
// transaction. A repeated move (a retried attempt) finds the file already
// there.
func (t *Tasks) Move(ctx context.Context, c Call) (json.RawMessage, error) {
	var in struct {
		Media  Media           `json:"media"`
		Record json.RawMessage `json:"record"`
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, k, err := t.scopedMedia(ctx, c, &in.Media)
	if err != nil {
		return nil, err
	}
	m := &in.Media
	dst, err := ProcessedKey(s.Tenant, m.ID, "original"+k.Ext())
	if err != nil {
		return nil, err
	}
	if k != dst {
		if err := s.Bucket.Move(ctx, dst, k.String()); err != nil {
			if !errors.Is(err, errcode.NotFound) {
				return nil, err
			}
			if ok, _ := s.Bucket.Exists(ctx, dst.String()); !ok {
				return nil, err
			}
		}
	}
	cur, err := s.Catalog.MediaGet(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	// The Media Processed event is written in the same transaction as the
	// status change (outbox), so a consumer never misses a finished item.
	detail := map[string]any{"media_id": m.ID, "tenant": s.Tenant, "key": dst.String(), "kind": cur.Kind, "summary": cur.Summary}
	if cur.Insights != nil && cur.Insights.ModerationDecision != nil {
		// A review policy's rule can match {"detail":{"moderation":{"action":["review"]}}}.
		detail["moderation"] = cur.Insights.ModerationDecision
	}
	ev := Event("Media Processed", detail)
	row, err := bus.OutboxEvent(ev)
	if err != nil {
		return nil, err
	}
	if _, err := s.Catalog.MediaUpdate(ctx, catalog.MediaUpdateParams{ID: m.ID, BucketKey: dst.String(), Status: types.StatusSucceeded,
		Events: []catalog.OutboxEvent{row}}); err != nil {
		return nil, err
	}
	if t.opt.Bus != nil {
		t.opt.Bus.Notify()
	}
	t.mediaDone(types.StatusSucceeded)
	t.log.Info("pipeline: media processed", "media_id", m.ID, "tenant", s.Tenant, "key", dst.String())
	return json.Marshal(map[string]string{"key": dst.String()})
}
