package blob_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/landfall/landfall/blob"
	_ "github.com/landfall/landfall/blob/memblob"
)

// TestSeekerAndLoopback: a Seeker reads what it is positioned at, and a
// Loopback serves range requests from it; a read of an object that is
// gone is an error Err reports.
func TestSeekerAndLoopback(t *testing.T) {
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := b.WriteAll(ctx, "obj", data, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		t.Fatal(err)
	}

	s := blob.NewSeeker(ctx, int64(len(data)), b.Opener("obj"))
	defer s.Close()
	for _, at := range []struct {
		off    int64
		whence int
		want   int64
	}{{500, io.SeekStart, 500}, {-10, io.SeekEnd, int64(len(data)) - 10}, {-90, io.SeekCurrent, int64(len(data)) - 90}, {0, io.SeekStart, 0}} {
		got, err := s.Seek(at.off, at.whence)
		if err != nil || got != at.want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", at.off, at.whence, got, err, at.want)
		}
		p := make([]byte, 10)
		if _, err := io.ReadFull(s, p); err != nil || !bytes.Equal(p, data[got:got+10]) {
			t.Fatalf("after Seek to %d: read %v, %v; want %v", got, p, err, data[got:got+10])
		}
	}
	if _, err := s.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("a seek before the start was allowed")
	}

	l, err := blob.ServeLoopback(ctx, int64(len(data)), time.Time{}, b.Opener("obj"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	req, _ := http.NewRequest("GET", l.URL, nil)
	req.Header.Set("Range", "bytes=40000-40099")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, data[40000:40100]) {
		t.Fatalf("range request: %s, %d bytes; want 206 and bytes 40000-40099", resp.Status, len(got))
	}
	if resp, err := http.Get(l.URL + "x"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another path: %v, %v; want 404", resp, err)
	}

	if err := b.Delete(ctx, "obj"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(l.URL)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if l.Err() == nil {
		t.Fatalf("serving an object that is gone reported no error (%v, %v)", resp, err)
	}
}
