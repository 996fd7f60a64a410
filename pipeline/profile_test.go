package pipeline

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/config"
)

// The insight profile comes from the execution input (a rule's input
// transformer), else the upload's metadata, else the tenant's
// configuration; an unknown name is ignored.
func TestRegisterChoosesTheProfile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := config.Default(b.data)
	cfg.Tenants = []config.Tenant{{ID: "b", Profile: "podcast"}}
	b.tasks = New(Options{Config: cfg, Bucket: b.bucket, BucketName: "landfall", Catalog: b.cat, WorkRoot: filepath.Join(b.data, "work"),
		Logger: b.tasks.log})
	profileOf := func(in RegisterInput) any {
		t.Helper()
		out, err := b.call(t, b.tasks.Register, "b", in)
		if err != nil {
			t.Fatal(err)
		}
		var r Media
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		return r.Options["summarise"].(map[string]any)["profile"]
	}
	in := RegisterInput{Bucket: "landfall", Key: b.b.BucketKey, Size: b.b.Size}
	if got := profileOf(in); got != "podcast" {
		t.Errorf("tenant's profile: %v", got)
	}
	// The upload names its own.
	raw, _ := b.bucket.ReadAll(b.ctx, b.b.BucketKey)
	if err := b.bucket.WriteAll(b.ctx, b.b.BucketKey, raw, &blob.WriterOptions{Metadata: map[string]string{MetaProfile: "lecture"}}); err != nil {
		t.Fatal(err)
	}
	if got := profileOf(in); got != "lecture" {
		t.Errorf("upload's profile: %v", got)
	}
	in.Execution.Profile = "support-call"
	if got := profileOf(in); got != "support-call" {
		t.Errorf("rule's profile: %v", got)
	}
	in.Execution.Profile = "recipe"
	if got := profileOf(in); got != "lecture" {
		t.Errorf("an unknown rule profile should fall back to the upload's: %v", got)
	}
}
