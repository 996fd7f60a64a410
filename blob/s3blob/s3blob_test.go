package s3blob

import (
	"context"
	"os"
	"testing"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/blob/blobtest"
	"github.com/landfall/landfall/blob/s3blob/s3test"
)

var server *s3test.Server

func TestMain(m *testing.M) {
	s, err := s3test.Start()
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	server = s
	os.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

func bucketURL(name string) string {
	return "s3://" + name + "?endpoint=" + server.Endpoint + "&region=" + server.Region + "&path_style=true&part_size=5242880"
}

func TestConformance(t *testing.T) {
	blobtest.RunConformanceTests(t, func(t *testing.T) *blob.Bucket {
		b, err := blob.OpenBucket(context.Background(), bucketURL(server.NewBucket(t, false)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestConformanceVersioned(t *testing.T) {
	blobtest.RunConformanceTests(t, func(t *testing.T) *blob.Bucket {
		b, err := blob.OpenBucket(context.Background(), bucketURL(server.NewBucket(t, true)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, blobtest.KnownDivergence("EmptyFolderNotListed",
		"versitygw's posix backend keeps a delete marker as a file in its folder, so a versioned bucket still lists the folder as a common prefix; AWS S3 does not"),
		blobtest.KnownDivergence("KeyReuse",
			"versitygw's posix backend keeps a delete marker as a file in its folder, so a versioned bucket refuses an object where that folder is (ExistingObjectIsDirectory); AWS S3 allows it"))
}
