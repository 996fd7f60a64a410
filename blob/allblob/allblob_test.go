package allblob

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/errcode"
)

func TestSchemes(t *testing.T) {
	if got := strings.Join(blob.Schemes(), ","); got != "file,mem,s3" {
		t.Fatalf("Schemes() = %s; want file,mem,s3", got)
	}
	_, err := blob.OpenBucket(context.Background(), "azblob://x")
	if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "(known: file, mem, s3)") {
		t.Fatalf("unknown scheme: %v", err)
	}
}
