package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/config"
)

// serveApp runs App.Serve on a loopback listener and returns its address.
func serveApp(t *testing.T, mod func(*config.Config)) string {
	t.Helper()
	cfg := config.Default(t.TempDir())
	if mod != nil {
		mod(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		a.Close(context.Background())
	})
	return ln.Addr().String()
}

const uploadHead = "POST /v1/uploads?filename=a.wav HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: %d\r\n\r\n"

// A client that sends half a body and stalls is cut off once no byte has
// arrived for the body read timeout, while an upload that arrives slowly
// but steadily, taking several timeouts in all, completes.
func TestServeBodyReadTimeout(t *testing.T) {
	t.Parallel()
	const idle = 600 * time.Millisecond
	addr := serveApp(t, func(c *config.Config) { c.Limits.BodyReadTimeout.Duration = idle })

	t.Run("stalled", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, uploadHead, 4096)
		if _, err := c.Write(make([]byte, 2048)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		// The only wait: for the server's answer, bounded well past the
		// timeout so a stuck connection fails the test.
		_ = c.SetReadDeadline(time.Now().Add(idle + 10*time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no response to a stalled body after %s: %v", time.Since(start), err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "no byte arrived for") {
			t.Fatalf("status %d, body %s", resp.StatusCode, body)
		}
		if waited := time.Since(start); waited < idle {
			t.Fatalf("cut off after %s, before the %s timeout", waited, idle)
		}
		// The connection is closed, not kept for another request.
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("connection still open after the cut (read %d bytes)", n)
		}
	})

	t.Run("unread", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Refused before the body is read (the filename is not UTF-8);
		// the client then stalls half way through the body.
		fmt.Fprintf(c, strings.Replace(uploadHead, "a.wav", "%FF.wav", 1), 4096)
		if _, err := c.Write(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(idle + 10*time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
		// The server does not wait on the rest of a stalled body it never
		// read: the connection closes instead of hanging.
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("connection after an unread, stalled body: %v, want EOF", err)
		}
	})

	t.Run("steady", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		const chunks, chunk = 8, 1024
		fmt.Fprintf(c, uploadHead, chunks*chunk)
		// Each chunk arrives well inside the idle timeout; the whole body
		// takes longer than the timeout several times over.
		tick := time.NewTicker(idle / 4)
		defer tick.Stop()
		start := time.Now()
		for i := 0; i < chunks; i++ {
			<-tick.C
			if _, err := c.Write(make([]byte, chunk)); err != nil {
				t.Fatalf("chunk %d after %s: %v", i, time.Since(start), err)
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("steady upload: status %d, body %s", resp.StatusCode, body)
		}
	})
}

// Idle keep-alive connections are closed after the idle timeout.
func TestServeIdleTimeout(t *testing.T) {
	t.Parallel()
	addr := serveApp(t, func(c *config.Config) { c.Limits.IdleTimeout.Duration = 300 * time.Millisecond })
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	// The server closes the idle connection: the read ends with EOF well
	// before the test's own deadline.
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read = %v, want EOF from the server closing it", err)
	}
}

// With limits.stored_bytes set, an upload that would take the tenant past
// it is refused with 413 naming the limit; one that fits is stored.
func TestStoredBytesLimitOverHTTP(t *testing.T) {
	t.Parallel()
	_, srv := testApp(t, func(c *config.Config) { c.Limits.StoredBytes = 3000 })
	post := func(n int) (*http.Response, string) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/uploads?filename=a.bin", "application/octet-stream", strings.NewReader(strings.Repeat("x", n)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := post(2000); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first upload: %d %s", resp.StatusCode, body)
	}
	resp, body := post(1500)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"code":"TooLarge"`) || !strings.Contains(body, "limits.stored_bytes") {
		t.Fatalf("upload past the limit: %d %s", resp.StatusCode, body)
	}
	if resp, body := post(1000); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload that fits: %d %s", resp.StatusCode, body)
	}
}
