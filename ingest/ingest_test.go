package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/blob"
	_ "github.com/landfall/landfall/blob/fileblob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/busstore"
	_ "github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

type rec struct{ inputs [][]byte }

func (r *rec) StartExecution(ctx context.Context, sm, name string, input []byte) (string, error) {
	r.inputs = append(r.inputs, input)
	return name, nil
}

func setup(t testing.TB, max int64) (*Service, *blob.Bucket, catalog.Store, *bus.Bus, *rec) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	b, err := blob.OpenBucket(ctx, "file://"+filepath.Join(dir, "bucket"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	if _, err := cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	r := &rec{}
	bs := bus.New(bus.Options{Store: busstore.New(cat), Starter: r, Logger: slog.New(slog.DiscardHandler)})
	if _, err := bs.LoadRules([]byte(`[{"name":"all","event_pattern":{"source":["aws.s3"]},"state":"ENABLED","targets":[{"id":"t","type":"workflow","state_machine":"media","input_path":"$.detail.object"}]}]`), "test"); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Bucket: b, Catalog: cat, Bus: bs, MaxBytes: max, Logger: slog.New(slog.DiscardHandler), BucketName: "media"})
	return s, b, cat, bs, r
}

func listKeys(t *testing.T, b *blob.Bucket) []string {
	t.Helper()
	var keys []string
	it := b.List(&blob.ListOptions{Prefix: "incoming/"})
	for {
		o, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return keys
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Key)
	}
}

func TestUploadStoresRowAndEvent(t *testing.T) {
	s, b, cat, bs, r := setup(t, 1<<20)
	ctx := context.Background()
	body := bytes.Repeat([]byte("landfall "), 300)
	m, err := s.Upload(ctx, &UploadParams{Tenant: "acme", Filename: "../../etc/Talk One.MP4", ContentType: "video/mp4", Size: int64(len(body)), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	if m.BucketKey != "incoming/acme/"+m.ID+".mp4" || m.Status != types.StatusPending || m.Size != int64(len(body)) || m.Filename != "Talk One.MP4" || len(m.SHA256) != 64 {
		t.Fatalf("%+v", m)
	}
	got, err := b.ReadAll(ctx, m.BucketKey)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("stored %d bytes, %v", len(got), err)
	}
	if _, err := bs.DispatchOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.inputs) != 1 || !strings.Contains(string(r.inputs[0]), m.BucketKey) {
		t.Fatalf("event not delivered: %q", r.inputs)
	}
	if _, err := cat.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID, TenantID: "acme"}); err != nil {
		t.Fatal(err)
	}
}

func TestUploadRefusesBadInput(t *testing.T) {
	s, b, _, _, _ := setup(t, 1000)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		p    UploadParams
		code errcode.Code
		want string
	}{
		"empty":          {UploadParams{Tenant: "acme", Filename: "a.mp4", Body: strings.NewReader("")}, errcode.Invalid, "empty"},
		"oversize":       {UploadParams{Tenant: "acme", Filename: "a.mp4", Size: -1, Body: bytes.NewReader(make([]byte, 5000))}, errcode.TooLarge, "1000-byte limit"},
		"declared large": {UploadParams{Tenant: "acme", Filename: "a.mp4", Size: 5000, Body: bytes.NewReader(make([]byte, 5000))}, errcode.TooLarge, "5000 bytes"},
		"short body":     {UploadParams{Tenant: "acme", Filename: "a.mp4", Size: 900, Body: bytes.NewReader(make([]byte, 10))}, errcode.Invalid, "10 of 900"},
		"unknown tenant": {UploadParams{Tenant: "nobody", Filename: "a.mp4", Body: strings.NewReader("x")}, errcode.NotFound, `unknown tenant "nobody"`},
	} {
		_, err := s.Upload(ctx, &tc.p)
		if errcode.Of(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s %q", name, err, tc.code, tc.want)
		}
	}
	if keys := listKeys(t, b); len(keys) != 0 {
		t.Fatalf("refused uploads left objects: %v", keys)
	}
}

func TestWatchRegistersDroppedFilesOnce(t *testing.T) {
	s, b, cat, bs, r := setup(t, 0)
	ctx := context.Background()
	if err := b.WriteAll(ctx, "incoming/acme/dropped.wav", bytes.Repeat([]byte{1}, 2048), nil); err != nil {
		t.Fatal(err)
	}
	m, err := s.Upload(ctx, &UploadParams{Tenant: "acme", Filename: "u.wav", Body: bytes.NewReader(bytes.Repeat([]byte{2}, 2048))})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]obs{}
	for i := 0; i < 3; i++ { // first scan observes, second registers, third is a no-op
		if err := s.scan(ctx, seen); err != nil {
			t.Fatal(err)
		}
	}
	// A second watcher (another process) registers nothing new.
	if err := s.scan(ctx, map[string]obs{}); err != nil {
		t.Fatal(err)
	}
	if err := s.scan(ctx, seen); err != nil {
		t.Fatal(err)
	}
	page, err := cat.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Media) != 2 {
		t.Fatalf("media rows %d, want the upload and the dropped file", len(page.Media))
	}
	for i := 0; i < 3; i++ {
		bs.DispatchOnce(ctx)
	}
	if len(r.inputs) != 2 {
		t.Fatalf("events %d, want 2 (upload %s + dropped)", len(r.inputs), m.ID)
	}
}
