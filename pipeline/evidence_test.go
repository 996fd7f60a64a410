package pipeline

import (
	"bytes"
	"context"
	"image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/blob/memblob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// evidenceVideo writes a video of three slides of 2 s each on far apart
// backgrounds: navy, off-white, green.
func evidenceVideo(t testing.TB) []byte {
	t.Helper()
	if _, err := execx.LookPath("ffmpeg"); err != nil {
		t.Skip(err)
	}
	p := filepath.Join(t.TempDir(), "flagged.mp4")
	if _, err := mediagen.Video(context.Background(), p, mediagen.VideoSpec{Width: 320, Height: 240, FPS: 10,
		Slides: []mediagen.Slide{{Text: "One", Seconds: 2}, {Text: "Two", Seconds: 2}, {Text: "Three", Seconds: 2}}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// topColour decodes a JPEG and returns the mean colour of its top band
// (above the slide's text).
func topColour(t *testing.T, b []byte) (r, g, bl float64) {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("evidence is not a JPEG: %v", err)
	}
	bd := img.Bounds()
	n := 0.0
	for y := bd.Min.Y; y < bd.Min.Y+bd.Dy()/6; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			r, g, bl = r+float64(cr>>8), g+float64(cg>>8), bl+float64(cb>>8)
			n++
		}
	}
	return r / n, g / n, bl / n
}

// near reports whether a colour is within 40 of the hex colour rgb in
// every channel.
func near(r, g, b float64, rgb uint32) bool {
	d := func(a float64, c uint32) bool { return a-float64(c) < 40 && float64(c)-a < 40 }
	return d(r, rgb>>16&0xff) && d(g, rgb>>8&0xff) && d(b, rgb&0xff)
}

// TestModerationEvidenceFromOriginal: flags without an analysed frame (a
// Rekognition Video job's, at their detection times) keep the original's
// frame at that time as evidence, whether the bucket keeps objects as
// files or ffmpeg streams the original from it with range reads; a time
// with no frame records why the evidence is missing.
func TestModerationEvidenceFromOriginal(t *testing.T) {
	video := evidenceVideo(t)
	for _, driver := range []string{"file", "mem"} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			tasks, bucket, m, s := evidenceSetup(t, driver, video)
			id := m.ID
			// Two shots as a Rekognition Video job fills them: no frame,
			// each flag at its detection time.
			v := &types.Vision{Shots: []types.VisionShot{
				{Shot: 0, StartMS: 0, EndMS: 2000, TimestampMS: 0, Moderation: []types.Moderation{
					{Name: "Alcohol", Confidence: 70, Timestamp: 1.0}}},
				{Shot: 1, StartMS: 2000, EndMS: 6000, TimestampMS: 2000, Moderation: []types.Moderation{
					{Name: "Drinking", ParentName: "Alcohol", Confidence: 66, Timestamp: 4.5},
					{Name: "Alcohol", Confidence: 60, Timestamp: 60}}},
			}}
			d, err := tasks.moderationDecision(ctx, s, m, v)
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != "review" || len(d.Reasons) != 3 {
				t.Fatalf("decision %+v", d)
			}
			for i, want := range []struct {
				ms  int64
				rgb uint32
			}{{1000, 0x1E3A8A}, {4500, 0x14532D}} {
				r := d.Reasons[i]
				if r.TimestampMS != want.ms || r.EvidenceMS == nil || *r.EvidenceMS != want.ms || r.EvidenceMissing != "" ||
					r.Evidence != "processed/a/"+id+"/evidence/at-"+strconv.FormatInt(want.ms, 10)+"ms.jpg" {
					t.Fatalf("reason %d: %+v", i, r)
				}
				b, err := bucket.ReadAll(ctx, r.Evidence)
				if err != nil {
					t.Fatal(err)
				}
				if cr, cg, cb := topColour(t, b); !near(cr, cg, cb, want.rgb) {
					t.Errorf("evidence at %d ms has colour %.0f,%.0f,%.0f, want the slide shown then (%06x)", want.ms, cr, cg, cb, want.rgb)
				}
			}
			if r := d.Reasons[2]; r.Evidence != "" || r.EvidenceMS != nil || !strings.Contains(r.EvidenceMissing, "no frame could be taken from the original at 60.000s") {
				t.Fatalf("a flag past the end: %+v", r)
			}
			// An original no longer in the bucket: the decision stands,
			// saying why it has no frame.
			if err := bucket.Delete(ctx, m.Key); err != nil {
				t.Fatal(err)
			}
			d, err = tasks.moderationDecision(ctx, s, m, &types.Vision{Shots: v.Shots[:1]})
			if err != nil {
				t.Fatal(err)
			}
			if r := d.Reasons[0]; d.Action != "review" || r.Evidence != "" || !strings.Contains(r.EvidenceMissing, "no frame") {
				t.Fatalf("without the original: %+v", d)
			}
		})
	}
}

// evidenceSetup stores video as a media item's original in a bucket of
// driver ("file" or "mem") and returns the tasks, with an installation
// policy reviewing alcohol, and the item's scope.
func evidenceSetup(t testing.TB, driver string, video []byte) (*Tasks, *blob.Bucket, *Media, *Scope) {
	t.Helper()
	ctx, data := context.Background(), t.TempDir()
	var bucket *blob.Bucket
	if driver == "mem" {
		bucket = memblob.OpenBucket()
	} else {
		var err error
		if bucket, err = blob.OpenBucket(ctx, "file://"+filepath.Join(data, "bucket")); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { bucket.Close() })
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(data, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	if _, err := cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default(data)
	cfg.Moderation = &config.ModerationPolicy{Review: []config.ModerationRule{{Label: "Alcohol", MinConfidence: 50}}}
	tasks := New(Options{Config: cfg, Bucket: bucket, BucketName: "landfall", Catalog: cat, WorkRoot: filepath.Join(data, "work"),
		Logger: slog.New(slog.DiscardHandler)})
	id := catalog.NewMediaID()
	k, err := UploadKey("a", id, "mp4")
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.WriteAll(ctx, k.String(), video, nil); err != nil {
		t.Fatal(err)
	}
	m := &Media{ID: id, Tenant: "a", Bucket: "landfall", Key: k.String(), Size: int64(len(video))}
	s, err := tasks.scope(Call{Tenant: "a"})
	if err != nil {
		t.Fatal(err)
	}
	return tasks, bucket, m, s
}

// BenchmarkOriginalFrame takes one evidence frame from a 6-second
// original: from the file itself, and streamed from a bucket without
// files (range reads through the loopback listener).
func BenchmarkOriginalFrame(b *testing.B) {
	video := evidenceVideo(b)
	for _, driver := range []string{"file", "mem"} {
		b.Run(driver, func(b *testing.B) {
			tasks, _, m, s := evidenceSetup(b, driver, video)
			ctx := context.Background()
			for b.Loop() {
				if _, err := tasks.originalFrame(ctx, s, m, 4500); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
