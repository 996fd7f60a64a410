package memblob

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/blob/blobtest"
	"github.com/landfall/landfall/errcode"
)

func TestConformance(t *testing.T) {
	blobtest.RunConformanceTests(t, func(t *testing.T) *blob.Bucket {
		b, err := blob.OpenBucket(context.Background(), "mem://")
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, "mem://?base_url=https://media.example/v1/blob")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteAll(ctx, "k", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	u, err := b.SignedURL(ctx, "k", nil)
	if err != nil || !strings.HasPrefix(u, "https://media.example/v1/blob/k?") {
		t.Fatalf("SignedURL = %q, %v", u, err)
	}
	for _, bad := range []string{"mem://?bogus=1", "mem://host", "mem://?base_url=%zz"} {
		_, err := blob.OpenBucket(ctx, bad)
		if !errors.Is(err, errcode.Invalid) {
			t.Errorf("OpenBucket(%q) = %v; want InvalidArgument", bad, err)
		}
	}
	_, err = blob.OpenBucket(ctx, "gs://bucket")
	if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "mem") {
		t.Errorf("unknown scheme error %v does not list the known schemes", err)
	}
}
