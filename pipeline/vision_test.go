package pipeline

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// TestModerationPolicy applies installation and tenant policies to the
// flags of two frames: reject beats review, parents match, thresholds
// hold, the triggering frame is kept as evidence once, and a rejection
// names what did it.
func TestModerationPolicy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.a.ID
	frame := "work/a/" + id + "/vision/frame-0001.jpg"
	if err := b.bucket.WriteAll(b.ctx, frame, []byte("jpeg"), nil); err != nil {
		t.Fatal(err)
	}
	v := &types.Vision{Shots: []types.VisionShot{
		{Shot: 0, TimestampMS: 1000, Frame: "work/a/" + id + "/vision/frame-0000.jpg"},
		{Shot: 1, TimestampMS: 5000, Frame: frame, Moderation: []types.Moderation{
			{Name: "Revealing Clothes", ParentName: "Non-Explicit Nudity of Intimate parts and Kissing", Confidence: 72, TaxonomyLevel: 2},
			{Name: "Explicit Nudity", ParentName: "Explicit", Confidence: 65, TaxonomyLevel: 2}}},
	}}
	s, err := b.tasks.scope(Call{Tenant: "a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		pol    *config.ModerationPolicy
		tenant *config.ModerationPolicy
		want   string
		rules  int
		policy string
	}{
		{"no policy", nil, nil, "pass", 0, ""},
		{"review by label", &config.ModerationPolicy{Review: []config.ModerationRule{{Label: "revealing clothes", MinConfidence: 70}}}, nil, "review", 1, "installation"},
		{"below threshold", &config.ModerationPolicy{Review: []config.ModerationRule{{Label: "Revealing Clothes", MinConfidence: 80}}}, nil, "pass", 0, "installation"},
		{"reject by parent beats review", &config.ModerationPolicy{Review: []config.ModerationRule{{Label: "*", MinConfidence: 50}},
			Reject: []config.ModerationRule{{Label: "Explicit", MinConfidence: 60}}}, nil, "reject", 3, "installation"},
		{"tenant's own policy", &config.ModerationPolicy{Reject: []config.ModerationRule{{Label: "*", MinConfidence: 0}}},
			&config.ModerationPolicy{Review: []config.ModerationRule{{Label: "Explicit Nudity", MinConfidence: 60}}}, "review", 1, "tenant:a"},
	} {
		b.tasks.cfg.Moderation = c.pol
		b.tasks.cfg.Tenants = []config.Tenant{{ID: "a", Moderation: c.tenant}}
		d, err := b.tasks.moderationDecision(b.ctx, s, &Media{ID: id, Tenant: "a", Key: b.a.BucketKey}, v)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d.Action != c.want || len(d.Reasons) != c.rules || d.Policy != c.policy {
			t.Errorf("%s: %+v, want %s with %d reasons by %q", c.name, d, c.want, c.rules, c.policy)
		}
		for _, r := range d.Reasons {
			if r.Evidence != "processed/a/"+id+"/evidence/frame-0001.jpg" || r.TimestampMS != 5000 {
				t.Errorf("%s: evidence %+v", c.name, r)
			}
			got, err := b.bucket.ReadAll(b.ctx, r.Evidence)
			if err != nil || string(got) != "jpeg" {
				t.Errorf("%s: evidence frame %q: %v", c.name, got, err)
			}
		}
		if d.Action == "reject" {
			err := rejection(d)
			if errcode.Of(err) != ErrModerationRejected || !strings.Contains(err.Error(), "Explicit Nudity 65.0 ≥ 60.0 at 5.0s") {
				t.Errorf("%s: rejection %v", c.name, err)
			}
		}
	}
	// A frame key of another media item is never copied.
	bad := &types.Vision{Shots: []types.VisionShot{{Frame: "work/a/" + b.b.ID + "/vision/frame-0000.jpg", Moderation: []types.Moderation{{Name: "X", Confidence: 99}}}}}
	b.tasks.cfg.Tenants = nil
	b.tasks.cfg.Moderation = &config.ModerationPolicy{Review: []config.ModerationRule{{Label: "*"}}}
	if _, err := b.tasks.moderationDecision(b.ctx, s, &Media{ID: id, Tenant: "a", Key: b.a.BucketKey}, bad); errcode.Of(err) != errcode.ForbiddenReference {
		t.Errorf("another item's frame: %v", err)
	}
}

// TestVisionOfMergesFrames joins the labels and moderation outputs of the
// worker by frame, in time order.
func TestVisionOfMergesFrames(t *testing.T) {
	t.Parallel()
	labels := `{"frames":2,"labels":[],"LabelModelVersion":"lm","shots":[
	  {"shot":1,"start_ms":2000,"end_ms":4000,"timestamp_ms":3000,"frame":"k1","labels":[{"name":"Horse","confidence":57,"instances":[{"box":{"left":0.1,"top":0.1,"width":0.5,"height":0.5},"confidence":57}],"parents":["Mammal","Animal"]}]},
	  {"shot":0,"start_ms":0,"end_ms":2000,"timestamp_ms":1000,"frame":"k0","labels":[]}]}`
	mod := `{"frames":2,"moderation":[],"ModerationModelVersion":"mm","shots":[
	  {"shot":0,"start_ms":0,"end_ms":2000,"timestamp_ms":1000,"frame":"k0","moderation":[]},
	  {"shot":1,"start_ms":2000,"end_ms":4000,"timestamp_ms":3000,"frame":"k1","moderation":[{"name":"Revealing Clothes","confidence":61,"taxonomy_level":2}]}]}`
	v, err := visionOf(map[string]json.RawMessage{analyser.TaskLabels: json.RawMessage(labels), "moderation": json.RawMessage(mod)})
	if err != nil {
		t.Fatal(err)
	}
	if v.LabelModel != "lm" || v.ModerationModel != "mm" || len(v.Shots) != 2 || v.Shots[0].Shot != 0 || v.Shots[1].Labels[0].Parents[1] != "Animal" ||
		v.Shots[1].Moderation[0].TaxonomyLevel != 2 || v.Shots[1].Labels[0].Instances[0].Box.Width != 0.5 {
		t.Fatalf("%+v", v)
	}
	// Providers without frames (Rekognition here) give no per-frame record.
	if v, err := visionOf(map[string]json.RawMessage{analyser.TaskLabels: json.RawMessage(`{"frames":1,"labels":[{"name":"Dog","confidence":90}]}`)}); err != nil || v != nil {
		t.Fatalf("aws labels: %+v %v", v, err)
	}
	if _, err := visionOf(map[string]json.RawMessage{analyser.TaskLabels: json.RawMessage(`{"shots":"no"}`)}); errcode.Of(err) != errcode.ProviderBadOutput {
		t.Fatalf("bad output: %v", err)
	}
}

// FuzzVisionOf feeds arbitrary worker output to the per-frame merge: it
// returns a result or a ProviderBadOutput error, never panics.
func FuzzVisionOf(f *testing.F) {
	f.Add(`{"shots":[{"shot":0,"timestamp_ms":0,"frame":"k","labels":[{"name":"Cat","confidence":50,"instances":[{"box":{"left":0,"top":0,"width":1,"height":1},"confidence":50}]}]}]}`,
		`{"shots":[{"shot":0,"timestamp_ms":0,"frame":"k","moderation":[{"name":"Explicit","confidence":90,"taxonomy_level":1}]}]}`)
	f.Add(`{"shots":null}`, `[]`)
	f.Add(`null`, `{"shots":[{}]}`)
	f.Fuzz(func(t *testing.T, labels, mod string) {
		if len(labels)+len(mod) > 1<<16 {
			return
		}
		v, err := visionOf(map[string]json.RawMessage{analyser.TaskLabels: json.RawMessage(labels), "moderation": json.RawMessage(mod)})
		if err != nil && errcode.Of(err) != errcode.ProviderBadOutput {
			t.Fatalf("error without its code: %v", err)
		}
		if err == nil && v != nil && len(v.Shots) == 0 {
			t.Fatal("a vision record without frames")
		}
	})
}

// TestModerationPolicyOpensReview: an item whose moderation decision is
// "review" waits for review even when the tenant's review policy is off.
func TestModerationPolicyOpensReview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := &types.ModerationDecision{Action: "review", Policy: "tenant:a", Reasons: []types.ModerationEvidence{
		{Rule: "review", Label: "Revealing Clothes", Confidence: 72, Threshold: 70, TimestampMS: 5000}}}
	if _, err := b.cat.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: b.a.ID, Insights: &types.Insights{Summary: "x", ModerationDecision: d}}); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(map[string]any{"media": ref(b.a), "results": map[string]any{}})
	out, err := b.tasks.ReviewPolicyTask(b.ctx, Call{Tenant: "a", Input: in, Resource: "landfall-review-policy"})
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Needed  bool `json:"needed"`
		Reasons []struct {
			Code   string    `json:"code"`
			Detail string    `json:"detail"`
			Times  []float64 `json:"times"`
		} `json:"reasons"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	if !p.Needed || len(p.Reasons) != 1 || p.Reasons[0].Code != catalog.ReasonModeration || !strings.Contains(p.Reasons[0].Detail, "Revealing Clothes 72% ≥ 70%") ||
		len(p.Reasons[0].Times) != 1 || p.Reasons[0].Times[0] != 5 {
		t.Fatalf("%s", out)
	}
}

// TestPersistModerationRejectEndsRejected rejects an item by the tenant's
// moderation policy: Persist records it REJECTED (not FAILED) with the
// policy's reason and a Media Rejected event, and a repeated attempt
// answers the same.
func TestPersistModerationRejectEndsRejected(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.b
	if _, err := b.cat.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusProcessing}); err != nil {
		t.Fatal(err)
	}
	b.tasks.cfg.Moderation = &config.ModerationPolicy{Reject: []config.ModerationRule{{Label: "Explicit", MinConfidence: 60}}}
	mod := `{"frames":1,"moderation":[],"shots":[{"shot":0,"start_ms":0,"end_ms":2000,"timestamp_ms":1000,
	  "moderation":[{"name":"Explicit Nudity","parent_name":"Explicit","confidence":91,"taxonomy_level":2}]}]}`
	in := map[string]any{"media": ref(m), "classify": map[string]any{"kind": "image"},
		"results": map[string]json.RawMessage{"moderation": json.RawMessage(mod)}}
	for attempt := 0; attempt < 2; attempt++ {
		out, err := b.call(t, b.tasks.Persist, "b", in)
		if err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		var rec struct{ Status, Reason string }
		if err := json.Unmarshal(out, &rec); err != nil || rec.Status != string(types.StatusRejected) || !strings.Contains(rec.Reason, "Explicit Nudity 91.0 ≥ 60.0") {
			t.Fatalf("attempt %d: output %s (%v)", attempt, out, err)
		}
	}
	got, err := b.cat.MediaGet(b.ctx, &catalog.MediaGetParams{ID: m.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != types.StatusRejected || got.Error != string(ErrModerationRejected) || !strings.Contains(got.Cause, "installation moderation policy") ||
		got.Insights == nil || got.Insights.ModerationDecision == nil || got.Insights.ModerationDecision.Action != "reject" {
		t.Fatalf("record %+v", got)
	}
}
