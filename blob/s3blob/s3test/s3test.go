// Package s3test runs a real S3-compatible server on loopback for tests:
// the versitygw gateway, in a child process, over its posix backend, with
// metadata in sidecar files (no extended attributes needed) and object
// versioning enabled. Start returns one server per test binary; tests
// isolate themselves by creating their own bucket with NewBucket.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
)

// Server is a running S3 gateway.
type Server struct {
	Endpoint  string // "http://127.0.0.1:PORT"
	Region    string
	AccessKey string
	SecretKey string
	Dir       string // the gateway's data folder

	stdin   io.Closer // closing it stops the gateway process
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the gateway process has ended
	waitErr error         // how it ended, once exited is closed
}

const (
	region    = "us-east-1"
	accessKey = "landfalltest"
	secretKey = "landfalltestsecret"
	// childEnv, set in the environment of a copy of the running binary,
	// makes that copy serve the gateway ("<data folder>\x1f<address>")
	// instead of running its tests.
	childEnv = "LANDFALL_S3TEST_GATEWAY"
)

// The gateway's posix backend works relative to the process's working
// directory, which it changes to its data folder. It therefore runs in a
// child process (this binary again, told by childEnv), so that the tests'
// own working directory never moves.
func init() {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(serveChild(v))
	}
}

var (
	mu      sync.Mutex
	current *Server
)

// Start returns the process's gateway, starting it on the first call. Call
// Stop from TestMain to shut it down and remove its data.
func Start() (*Server, error) {
	mu.Lock()
	defer mu.Unlock()
	if current != nil {
		return current, nil
	}
	dir, err := os.MkdirTemp("", "landfall-s3test-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("s3test: find this binary to run the gateway: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+dir+"\x1f"+addr)
	cmd.Stdout = io.Discard // the gateway's start-up banner
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("s3test: start the gateway process: %w", err)
	}
	s := &Server{
		Endpoint:  "http://" + addr,
		Region:    region,
		AccessKey: accessKey,
		SecretKey: secretKey,
		Dir:       dir,
		stdin:     stdin,
		cmd:       cmd,
		exited:    make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(10 * time.Second); err != nil {
		s.stop()
		return nil, err
	}
	current = s
	return s, nil
}

// Stop shuts the gateway down and removes its data folder.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if current == nil {
		return
	}
	current.stop()
	current = nil
}

func (s *Server) stop() {
	s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.Dir)
}

// serveChild runs the gateway described by v until its standard input
// closes (the parent stopped it, or exited); it returns the exit code.
func serveChild(v string) int {
	dir, addr, ok := strings.Cut(v, "\x1f")
	if !ok {
		fmt.Fprintf(os.Stderr, "s3test: %s=%q: want folder and address\n", childEnv, v)
		return 2
	}
	be, err := newBackend(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	cfg := &embedgw.Config{
		RootUserAccess:    accessKey,
		RootUserSecret:    secretKey,
		Region:            region,
		Ports:             []string{addr},
		MaxConnections:    250,
		MaxRequests:       250,
		MultipartMaxParts: 10000,
		Quiet:             true,
		KeepAlive:         true,
		HealthPath:        "/landfall-health",
	}
	if err := embedgw.RunVersityGW(ctx, be, cfg); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "s3test: gateway: %v\n", err)
		return 1
	}
	return 0
}

// newBackend makes the posix backend over dir's data, sidecar metadata
// and versions folders.
func newBackend(dir string) (*posix.Posix, error) {
	root := filepath.Join(dir, "data")
	side := filepath.Join(dir, "meta")
	vers := filepath.Join(dir, "versions")
	for _, d := range []string{root, side, vers} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	ms, err := meta.NewSideCar(side)
	if err != nil {
		return nil, fmt.Errorf("s3test: sidecar metadata: %w", err)
	}
	opts := posix.PosixOpts{
		VersioningDir: vers,
		SideCarDir:    side,
		Concurrency:   64,
		// The S3 limit for CopyObject; versitygw's zero value refuses
		// every copy.
		CopyObjectThreshold: 5 << 30,
	}
	opts.SetNewDirPerm(0o755)
	opts.SetNewFilePerm(0o644)
	be, err := posix.New(root, ms, opts)
	if err != nil {
		return nil, fmt.Errorf("s3test: posix backend: %w", err)
	}
	return be, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	addr := strings.TrimPrefix(s.Endpoint, "http://")
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("s3test: gateway stopped while starting: %v", s.waitErr)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("s3test: gateway did not listen on %s within %v", addr, limit)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("s3test: pick a loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Client returns an S3 client for the gateway (path-style, static
// credentials).
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// NewBucket creates a bucket with a unique name, with versioning enabled
// when versioned is true, and returns its name. The bucket is emptied and
// deleted when the test ends.
func (s *Server) NewBucket(tb testing.TB, versioned bool) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "lf-" + hex.EncodeToString(b[:])
	ctx := context.Background()
	c := s.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("s3test: create bucket %s: %v", name, err)
	}
	if versioned {
		_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
		})
		if err != nil {
			tb.Fatalf("s3test: enable versioning on %s: %v", name, err)
		}
	}
	tb.Cleanup(func() { s.removeBucket(name) })
	return name
}

func (s *Server) removeBucket(name string) {
	ctx := context.Background()
	c := s.Client()
	var keyMarker, verMarker *string
	for {
		out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(name), KeyMarker: keyMarker, VersionIdMarker: verMarker})
		if err != nil {
			break
		}
		for _, v := range out.Versions {
			c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: v.Key, VersionId: v.VersionId})
		}
		for _, v := range out.DeleteMarkers {
			c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: v.Key, VersionId: v.VersionId})
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		keyMarker, verMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			break
		}
		for _, o := range out.Contents {
			c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key})
		}
	}
	mps, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(name)})
	if err == nil {
		for _, u := range mps.Uploads {
			c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(name), Key: u.Key, UploadId: u.UploadId})
		}
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	_ = errors.Unwrap(err)
}
