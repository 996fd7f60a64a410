package s3test

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

func TestPutGet(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBucket(t, true)
	c := s.Client()
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("a/b.txt"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("a/b.txt")})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(out.Body)
	if string(data) != "hello" {
		t.Fatalf("got %q", data)
	}
	t.Logf("version id %v", aws.ToString(out.VersionId))
}
