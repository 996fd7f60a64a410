package aws

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/landfall/landfall/errcode"
)

// module is Landfall's Go module path; BuildLambda builds from its source.
const module = "github.com/landfall/landfall"

// LambdaPackage is the Go package of the Lambda handler's main.
const LambdaPackage = "./cmd/landfall-lambda"

// goArch maps a Lambda architecture to GOARCH.
var goArch = map[string]string{"arm64": "arm64", "x86_64": "amd64"}

// SourceRoot returns the root of Landfall's source tree at or above dir,
// or an error saying the Lambda package needs one.
func SourceRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module "+module)) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errcode.New(errcode.FailedPrecond, "building the Lambda package needs Landfall's source tree and Go: run from a checkout, or pass --no-build for the template only")
		}
	}
}

// BuildLambda builds the handler as a static linux binary named bootstrap
// for the provided.al2023 runtime on arch ("arm64" or "x86_64") and zips
// it into outDir/lambda-<arch>.zip, which it returns.
func BuildLambda(ctx context.Context, outDir, arch string) (string, error) {
	ga, ok := goArch[arch]
	if !ok {
		return "", errcode.New(errcode.Invalid, "architecture: %q (want arm64 or x86_64)", arch)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := SourceRoot(wd)
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		if _, serr := os.Stat("/usr/local/go/bin/go"); serr != nil {
			return "", errcode.New(errcode.FailedPrecond, "building the Lambda package needs the go command on PATH")
		}
		goBin = "/usr/local/go/bin/go"
	}
	outDir, err = filepath.Abs(outDir)
	if err != nil {
		return "", err
	}
	buildDir := filepath.Join(outDir, "build", arch)
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(buildDir, "bootstrap")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", bin, LambdaPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+ga, "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", errcode.New(errcode.ToolFailed, "go build %s for linux/%s: %v: %s", LambdaPackage, ga, err, strings.TrimSpace(stderr.String()))
	}
	zipPath := filepath.Join(outDir, "lambda-"+arch+".zip")
	if err := zipBootstrap(bin, zipPath); err != nil {
		return "", err
	}
	return zipPath, nil
}

// zipBootstrap writes a zip holding bin as "bootstrap", executable.
func zipBootstrap(bin, zipPath string) error {
	in, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.Create(zipPath + ".tmp")
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Now().UTC()}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = io.Copy(w, in)
	}
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(zipPath + ".tmp")
		return fmt.Errorf("zip %s: %w", zipPath, err)
	}
	return os.Rename(zipPath+".tmp", zipPath)
}
