package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/blob"
	_ "github.com/landfall/landfall/blob/fileblob"
	"github.com/landfall/landfall/catalog"
	_ "github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// fakeMedia stands in for the media task: it writes a keyframe into the
// work folder and declares it, and names a path it does not declare.
type fakeMedia struct{}

func (fakeMedia) Spec() analyser.Spec {
	return analyser.Spec{ID: "analyser.media.pipelinetest", Task: analyser.TaskMedia, Provider: "pipelinetest"}
}

func (fakeMedia) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	src, err := os.ReadFile(in.Path)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(env.Workdir, "frames", "f1.png")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p, append([]byte("frame of "), src...), 0o644); err != nil {
		return nil, err
	}
	env.Declare(p, "image/png")
	return map[string]any{"keyframes": []map[string]any{{"path": p}}, "note": filepath.Join(env.Workdir, "undeclared.txt")}, nil
}

// fakeOCR stands in for a task that reads the media task's keyframes.
type fakeOCR struct{}

func (fakeOCR) Spec() analyser.Spec {
	return analyser.Spec{ID: "analyser.ocr.pipelinetest", Task: analyser.TaskOCR, Provider: "pipelinetest"}
}

func (fakeOCR) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	var m struct {
		Keyframes []struct {
			Path string `json:"path"`
		} `json:"keyframes"`
		Note string `json:"note"`
	}
	if raw := in.Results[analyser.TaskMedia]; raw != nil {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
	}
	src, err := os.ReadFile(in.Path)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"source": string(src), "note": m.Note}
	if len(m.Keyframes) > 0 {
		b, err := os.ReadFile(m.Keyframes[0].Path)
		if err != nil {
			return nil, err
		}
		out["frame"], out["frame_path"] = string(b), m.Keyframes[0].Path
	}
	return out, nil
}

func init() {
	analyser.Register(fakeMedia{})
	analyser.Register(fakeOCR{})
}

type bundle struct {
	ctx    context.Context
	data   string // the data folder: bucket, catalog and work folders
	bucket *blob.Bucket
	cat    catalog.Store
	tasks  *Tasks
	// A's media, finished, with a summary and its original in incoming/.
	a *catalog.Media
	// B's own media, pending.
	b *catalog.Media
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	data := t.TempDir()
	bucket, err := blob.OpenBucket(ctx, "file://"+filepath.Join(data, "bucket"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bucket.Close() })
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(data, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	b := &bundle{ctx: ctx, data: data, bucket: bucket, cat: cat}
	b.tasks = b.newTasks(filepath.Join(data, "work"), false)
	for _, id := range []string{"a", "b"} {
		if _, err := cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	b.a = b.media(t, "a", "A's interview")
	if _, err := cat.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: b.a.ID, Status: types.StatusProcessing}); err != nil {
		t.Fatal(err)
	}
	b.a, err = cat.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: b.a.ID, Status: types.StatusSucceeded, Summary: "A's summary"})
	if err != nil {
		t.Fatal(err)
	}
	b.b = b.media(t, "b", "B's talk")
	return b
}

func (b *bundle) newTasks(workRoot string, share bool) *Tasks {
	cfg := config.Default(b.data)
	cfg.Analysers = map[string]string{analyser.TaskMedia: "pipelinetest", analyser.TaskOCR: "pipelinetest"}
	return New(Options{Config: cfg, Bucket: b.bucket, BucketName: "landfall", Catalog: b.cat, WorkRoot: workRoot,
		ShareFiles: share, Logger: slog.New(slog.DiscardHandler)})
}

func (b *bundle) media(t *testing.T, tenant, content string) *catalog.Media {
	t.Helper()
	id := catalog.NewMediaID()
	k, err := UploadKey(tenant, id, "wav")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.bucket.WriteAll(b.ctx, k.String(), []byte(content), nil); err != nil {
		t.Fatal(err)
	}
	m, err := b.cat.MediaCreate(b.ctx, &catalog.MediaCreateParams{ID: id, TenantID: tenant, BucketKey: k.String(), Filename: "x.wav", Size: int64(len(content))})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ref is the media reference the pipeline would carry for m.
func ref(m *catalog.Media) Media {
	return Media{ID: m.ID, Tenant: m.TenantID, Bucket: "landfall", Key: m.BucketKey, Size: m.Size}
}

func (b *bundle) call(t *testing.T, f TaskFunc, tenant string, input any) (json.RawMessage, error) {
	t.Helper()
	raw, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	return f(b.ctx, Call{ExecutionARN: "arn:aws:states:local:000000000000:execution:media:x", Tenant: tenant, Resource: "test", Input: raw})
}

// snapshot is everything of tenant A's: its row, its failures and every
// object and file under its prefixes and work folder.
func (b *bundle) snapshot(t *testing.T) string {
	t.Helper()
	m, err := b.cat.MediaGet(b.ctx, &catalog.MediaGetParams{ID: b.a.ID})
	if err != nil {
		t.Fatal(err)
	}
	fails, err := b.cat.FailureList(b.ctx, &catalog.FailureListParams{TenantID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(map[string]any{"media": m, "failures": fails.Failures})
	for _, p := range TenantPrefixes("a") {
		it := b.bucket.List(&blob.ListOptions{Prefix: p})
		for {
			o, err := it.Next(b.ctx)
			if err != nil {
				break
			}
			body, _ := b.bucket.ReadAll(b.ctx, o.Key)
			buf.WriteString(o.Key + "=" + string(body) + "\n")
		}
	}
	filepath.WalkDir(filepath.Join(b.data, "work", "a"), func(p string, d fs.DirEntry, err error) error {
		buf.WriteString(p + "\n")
		return nil
	})
	return buf.String()
}

func wantForbidden(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, errcode.ForbiddenReference) {
		t.Fatalf("err = %v, want %s", err, errcode.ForbiddenReference)
	}
}

// Forged references: B's execution names A's media in every way a state
// can, and each task refuses before touching anything of A's.
func TestForgedReferencesTouchNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before := b.snapshot(t)
	aRef := ref(b.a)
	// A's reference as it is; A's with B's tenant; B's with A's key; B's
	// with A's media id.
	asB := aRef
	asB.Tenant = "b"
	aKey := ref(b.b)
	aKey.Key = b.a.BucketKey
	aID := ref(b.b)
	aID.ID = b.a.ID
	otherBucket := ref(b.b)
	otherBucket.Bucket = "elsewhere"
	refs := map[string]Media{"A's reference": aRef, "A's reference as B's": asB, "A's key": aKey, "A's media id": aID, "another bucket": otherBucket}
	tasks := map[string]TaskFunc{
		"transcribe": b.tasks.Analyse(analyser.TaskTranscribe),
		"ocr":        b.tasks.Analyse(analyser.TaskOCR),
		"media":      b.tasks.Analyse(analyser.TaskMedia),
		"persist":    b.tasks.Persist,
		"move":       b.tasks.Move,
	}
	for tn, f := range tasks {
		for rn, r := range refs {
			t.Run(tn+"/"+rn, func(t *testing.T) {
				in := map[string]any{"media": r, "results": map[string]any{analyser.TaskSummarise: map[string]any{"summary": "B's words"}}}
				_, err := b.call(t, f, "b", in)
				wantForbidden(t, err)
			})
		}
	}
	// Results that point at A's stored results.
	t.Run("persist/A's results", func(t *testing.T) {
		wk, _ := WorkKey("a", b.a.ID, "summarise.json")
		if err := b.bucket.WriteAll(b.ctx, wk.String(), []byte(`{"summary":"A's stored summary"}`), nil); err != nil {
			t.Fatal(err)
		}
		before = b.snapshot(t)
		_, err := b.call(t, b.tasks.Persist, "b", map[string]any{"media": ref(b.b),
			"results": map[string]any{analyser.TaskSummarise: ResultRef{Ref: wk.String()}}})
		wantForbidden(t, err)
	})
	t.Run("register/A's key", func(t *testing.T) {
		_, err := b.call(t, b.tasks.Register, "b", RegisterInput{Bucket: "landfall", Key: b.a.BucketKey})
		wantForbidden(t, err)
	})
	t.Run("notify/A's failure", func(t *testing.T) {
		_, err := b.call(t, b.tasks.Notify, "b", map[string]any{"failure": catalog.Failure{TenantID: "a", ErrorName: "X"}})
		wantForbidden(t, err)
	})
	if after := b.snapshot(t); after != before {
		t.Fatalf("A's data changed:\nbefore %s\nafter  %s", before, after)
	}
	got, _ := b.cat.MediaGet(b.ctx, &catalog.MediaGetParams{ID: b.a.ID})
	if got.Summary != "A's summary" || got.Status != types.StatusSucceeded {
		t.Fatalf("A's media %+v", got)
	}
}

// RecordFailure in B's execution with A's media records B's failure and
// leaves A's row and failures alone.
func TestRecordFailureStaysInTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before := b.snapshot(t)
	asB := ref(b.a)
	asB.Tenant = "b"
	for _, r := range []Media{ref(b.a), asB} {
		out, err := b.call(t, b.tasks.RecordFailure, "b", map[string]any{"state": map[string]any{"media": r,
			"error": map[string]any{"Error": "Media.Corrupt", "Cause": "forged"}}})
		if err != nil {
			t.Fatal(err)
		}
		var f catalog.Failure
		json.Unmarshal(out, &f)
		if f.TenantID != "b" || f.MediaID != "" || !strings.Contains(f.Cause, "media reference refused") {
			t.Fatalf("failure %+v", f)
		}
	}
	if after := b.snapshot(t); after != before {
		t.Fatalf("A's data changed:\nbefore %s\nafter  %s", before, after)
	}
	// B's own media is failed as usual.
	out, err := b.call(t, b.tasks.RecordFailure, "b", map[string]any{"state": map[string]any{"media": ref(b.b),
		"error": map[string]any{"Error": "Media.Corrupt", "Cause": "bad file"}}})
	if err != nil {
		t.Fatal(err)
	}
	var f catalog.Failure
	json.Unmarshal(out, &f)
	m, _ := b.cat.MediaGet(b.ctx, &catalog.MediaGetParams{ID: b.b.ID})
	if f.MediaID != b.b.ID || m.Status != types.StatusFailed {
		t.Fatalf("B's failure %+v, media %s", f, m.Status)
	}
}

// Tenants, ids and keys that try to leave their folders fail the task and
// write nothing outside the data folder.
func TestPathEscapesFail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	outside := t.TempDir()
	escape, _ := filepath.Rel(filepath.Join(b.data, "work"), outside)
	cases := map[string]Media{
		"tenant":        {ID: b.b.ID, Tenant: escape, Bucket: "landfall", Key: b.b.BucketKey},
		"tenant dots":   {ID: b.b.ID, Tenant: "../../../../tmp/x", Bucket: "landfall", Key: b.b.BucketKey},
		"media id":      {ID: "../../" + escape, Tenant: "b", Bucket: "landfall", Key: b.b.BucketKey},
		"key dots":      {ID: b.b.ID, Tenant: "b", Bucket: "landfall", Key: "incoming/b/../a/" + filepath.Base(b.a.BucketKey)},
		"key absolute":  {ID: b.b.ID, Tenant: "b", Bucket: "landfall", Key: "/etc/passwd"},
		"key backslash": {ID: b.b.ID, Tenant: "b", Bucket: "landfall", Key: `incoming/b/..\..\a\x.wav`},
	}
	for name, m := range cases {
		for _, task := range []string{analyser.TaskMedia, analyser.TaskTranscribe} {
			_, err := b.call(t, b.tasks.Analyse(task), m.Tenant, map[string]any{"media": m})
			if !errors.Is(err, errcode.ForbiddenReference) {
				t.Errorf("%s/%s: %v, want %s", name, task, err, errcode.ForbiddenReference)
			}
			_, err = b.call(t, b.tasks.Analyse(task), "b", map[string]any{"media": m})
			if !errors.Is(err, errcode.ForbiddenReference) {
				t.Errorf("%s/%s in B's execution: %v, want %s", name, task, err, errcode.ForbiddenReference)
			}
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("wrote outside the data folder: %v", ents)
	}
	if _, err := (Workdirs{Root: b.data}).Dir("../x", b.b.ID); !errors.Is(err, errcode.ForbiddenReference) {
		t.Fatalf("work folder of tenant ../x: %v", err)
	}
}

// An execution without a tenant runs none of the media tasks.
func TestNoTenantNoTasks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, f := range b.tasks.Funcs() {
		_, err := b.call(t, f, "", map[string]any{"media": ref(b.b)})
		if !errors.Is(err, errcode.ForbiddenReference) {
			t.Errorf("%s without a tenant: %v", name, err)
		}
	}
}

// A finished item is not reset by a repeated delivery; register refuses
// and record-failure leaves it as it is.
func TestRegisterDoesNotResetFinished(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before := b.snapshot(t)
	_, err := b.call(t, b.tasks.Register, "a", RegisterInput{Bucket: "landfall", Key: b.a.BucketKey, Size: b.a.Size})
	if !errors.Is(err, errcode.AlreadyProcessed) {
		t.Fatalf("register of a finished item: %v", err)
	}
	_, err = b.call(t, b.tasks.RecordFailure, "a", map[string]any{"state": map[string]any{"bucket": "landfall", "key": b.a.BucketKey,
		"error": map[string]any{"Error": string(errcode.AlreadyProcessed), "Cause": "again"}}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := b.cat.MediaGet(b.ctx, &catalog.MediaGetParams{ID: b.a.ID})
	if m.Status != types.StatusSucceeded || m.Summary != "A's summary" {
		t.Fatalf("A's media after a repeated delivery: %s %q", m.Status, m.Summary)
	}
	_ = before
	// A dropped file of a tenant that does not exist registers nothing.
	if _, err := b.call(t, b.tasks.Register, "nobody", RegisterInput{Bucket: "landfall", Key: "incoming/nobody/x.wav"}); err == nil {
		t.Fatal("registered media of an unknown tenant")
	}
	if _, err := b.cat.TenantGet(b.ctx, &catalog.TenantGetParams{ID: "nobody"}); !errors.Is(err, errcode.NotFound) {
		t.Fatalf("tenant created from a key: %v", err)
	}
	// B's own upload registers.
	out, err := b.call(t, b.tasks.Register, "b", RegisterInput{Bucket: "landfall", Key: b.b.BucketKey, Size: b.b.Size})
	if err != nil {
		t.Fatal(err)
	}
	var r Media
	json.Unmarshal(out, &r)
	if r.ID != b.b.ID || r.Tenant != "b" {
		t.Fatalf("registered %+v", r)
	}
}

// Declared artefacts reach a worker with another work folder through the
// bucket, and only declared paths change in the output it reads.
func TestArtefactsTravel(t *testing.T) {
	t.Parallel()
	for _, share := range []bool{false, true} {
		b := setup(t)
		root1 := filepath.Join(b.data, "work")
		root2 := root1
		if share {
			root2 = filepath.Join(b.data, "other-machine", "work")
		}
		w1, w2 := b.newTasks(root1, share), b.newTasks(root2, share)
		// Register moves B's media to PROCESSING, as in the pipeline.
		if _, err := b.call(t, w1.Register, "b", RegisterInput{Bucket: "landfall", Key: b.b.BucketKey, Size: b.b.Size}); err != nil {
			t.Fatal(err)
		}
		mref, err := b.call(t, w1.Analyse(analyser.TaskMedia), "b", map[string]any{"media": ref(b.b)})
		if err != nil {
			t.Fatal(err)
		}
		out, err := b.call(t, w2.Analyse(analyser.TaskOCR), "b", map[string]any{"media": ref(b.b),
			"results": map[string]json.RawMessage{analyser.TaskMedia: mref}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := loadResult(b.ctx, mustScope(t, b, "b"), out, "ocr")
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		json.Unmarshal(r.output, &got)
		dir2 := filepath.Join(root2, "b", b.b.ID)
		if got["frame"] != "frame of B's talk" || got["frame_path"] != filepath.Join(dir2, "frames", "f1.png") {
			t.Fatalf("share=%v: ocr read %+v", share, got)
		}
		if got["note"] != filepath.Join(root1, "b", b.b.ID, "undeclared.txt") {
			t.Fatalf("share=%v: an undeclared path was rewritten: %q", share, got["note"])
		}
		shipped, _ := b.bucket.Exists(b.ctx, "work/b/"+b.b.ID+"/files/frames/f1.png")
		if shipped != share {
			t.Fatalf("share=%v: shipped %v", share, shipped)
		}
	}
}

func mustScope(t *testing.T, b *bundle, tenant string) *Scope {
	t.Helper()
	s, err := NewScope(tenant, "landfall", b.bucket, b.cat)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An analyser cannot hand over a file from outside its work folder.
func TestDeclaredArtefactOutsideWorkFolder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := mustScope(t, b, "b")
	dir, _ := b.tasks.work.Dir("b", b.b.ID)
	secret := filepath.Join(b.data, "catalog.db")
	bad := []analyser.Artefact{{Name: "../../../catalog.db", Path: secret}, {Name: "x", Path: secret}, {Name: "/etc/passwd", Path: "/etc/passwd"}}
	for _, a := range bad {
		if _, err := shipArtefacts(b.ctx, s, b.b.ID, dir, []analyser.Artefact{a}, true); !errors.Is(err, errcode.ProviderBadOutput) {
			t.Errorf("declared %+v: %v", a, err)
		}
	}
}
