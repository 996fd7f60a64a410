package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/blob/s3blob/s3test"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/types"
)

// TestScaleOutOnPostgresAndS3 runs the pipeline split over two processes'
// worth of apps — an API role that takes uploads and routes events, and a
// worker role with its own work folder — on one PostgreSQL schema and a
// real S3-compatible server, so every hand-over goes through the database
// and the bucket.
func TestScaleOutOnPostgresAndS3(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	pg := testutil.PostgresURL(t)
	s3, err := s3test.Start()
	if err != nil {
		t.Fatal(err)
	}
	bucket := s3.NewBucket(t, false)
	t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	sep := "?"
	if strings.Contains(pg, "?") {
		sep = "&"
	}
	schema := fmt.Sprintf("lf_scaleout_%d", rand.Uint32())
	db := pg + sep + "schema=" + schema
	blobURL := fmt.Sprintf("s3://%s?endpoint=%s&region=%s&path_style=true", bucket, s3.Endpoint, s3.Region)
	mk := func(role string) *App {
		a, _ := testApp(t, func(c *config.Config) {
			c.DB, c.Blob, c.Role = db, blobURL, role
		})
		return a
	}
	api := mk("api")
	// Two workers, each with its own work folder: a task may run on either,
	// so files one task declares reach the next through the bucket.
	_ = mk("worker")
	_ = mk("worker")

	ctx := context.Background()
	dir := t.TempDir()
	wav := filepath.Join(dir, "talk.wav")
	if err := mediagen.Speech(ctx, wav, "The ocean research team measures sea temperature every hour in Lisbon.", mediagen.VoiceFemale); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(dir, "card.png")
	if err := mediagen.Image(ctx, png, mediagen.ImageSpec{Text: "Northwind Labs"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{wav, png} {
		m := upload(t, api, f)
		if !strings.HasPrefix(m.BucketKey, "incoming/default/") {
			t.Fatalf("key %s", m.BucketKey)
		}
		done := waitDone(t, api, m.ID, 5*time.Minute)
		if done.Status != types.StatusSucceeded {
			t.Fatalf("%s: %s %s: %s", f, done.Status, done.Error, done.Cause)
		}
		if ok, err := api.Bucket.Exists(ctx, done.BucketKey); !ok || !strings.HasPrefix(done.BucketKey, "processed/") {
			t.Fatalf("%s: original not at %s in S3: %v", f, done.BucketKey, err)
		}
		if ok, _ := api.Bucket.Exists(ctx, m.BucketKey); ok {
			t.Fatalf("%s: %s still in incoming/", f, m.BucketKey)
		}
		if filepath.Ext(f) == ".wav" {
			shipped := "work/default/" + m.ID + "/files/audio.wav"
			if ok, err := api.Bucket.Exists(ctx, shipped); !ok {
				t.Fatalf("%s: the extracted audio track was not shipped to %s: %v", f, shipped, err)
			}
		}
		t.Logf("%s: %s in S3 at %s; summary %q", filepath.Base(f), done.Status, done.BucketKey, done.Summary)
	}
}
