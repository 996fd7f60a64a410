package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/landfall/landfall/internal/mediagen"
)

// TestOriginalRangeAndFrame: the original is served by range requests
// read from the bucket, and a frame of a video is taken from the original
// at the asked time, through the API.
func TestOriginalRangeAndFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("makes a video with ffmpeg")
	}
	a, srv := testApp(t, nil)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slides.mp4")
	if _, err := mediagen.Video(ctx, path, mediagen.VideoSpec{Width: 320, Height: 240,
		Slides: []mediagen.Slide{{Text: "One", Seconds: 2}, {Text: "Two", Seconds: 2}}}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := waitDone(t, a, upload(t, a, path).ID, 3*time.Minute)
	base := srv.URL + "/v1/media/" + m.ID

	req, _ := http.NewRequest("GET", base+"/original", nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, raw[100:200]) {
		t.Fatalf("original bytes 100-199: %s, %d bytes; want 206 and the upload's bytes", resp.Status, len(got))
	}

	resp, err = http.Get(base + "/frame.jpg?t=3")
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || !bytes.HasPrefix(got, []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("frame at 3 s: %s %q, %d bytes; want a JPEG (%.200s)", resp.Status, resp.Header.Get("Content-Type"), len(got), got)
	}
}
