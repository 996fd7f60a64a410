package app

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/workflow"
)

// integrations is what the engine's service integrations reach: the
// configured HTTP connections (secrets read from the environment), the
// bus, and the bucket scoped to an execution's tenant.
func (a *App) integrations() (workflow.Integrations, error) {
	conns, err := httpConnections(a.Cfg.StepFunctions.Connections)
	if err != nil {
		return workflow.Integrations{}, err
	}
	return workflow.Integrations{
		Connections: conns,
		PutEvents: func(ctx context.Context, tenant string, entries []workflow.EventEntry) ([]workflow.EventResult, error) {
			in := make([]bus.PutEventsEntry, len(entries))
			for i, e := range entries {
				in[i] = bus.PutEventsEntry{Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, Resources: e.Resources, EventBusName: e.EventBusName}
			}
			res, err := a.Bus.PutEvents(ctx, in)
			if err != nil {
				return nil, err
			}
			out := make([]workflow.EventResult, len(res))
			for i, r := range res {
				out[i] = workflow.EventResult{EventID: r.EventID, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage}
			}
			return out, nil
		},
		Objects: bucketObjects{b: a.Bucket, name: BucketName(a.Cfg.Blob)},
	}, nil
}

// httpConnections resolves the configured connections' secrets from the
// environment; a variable that is not set is an error naming it.
func httpConnections(cfg map[string]config.Connection) (map[string]workflow.HTTPConnection, error) {
	out := map[string]workflow.HTTPConnection{}
	env := func(name, pointer string) (string, error) {
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", pointer, name)
		}
		return v, nil
	}
	for name, c := range cfg {
		p := "/step_functions/connections/" + name
		hc := workflow.HTTPConnection{Headers: map[string]string{}, Query: map[string]string{}}
		if c.APIKeyHeader != "" {
			v, err := env(c.APIKeyEnv, p+"/api_key_env")
			if err != nil {
				return nil, err
			}
			hc.Headers[canonicalHeader(c.APIKeyHeader)] = v
		}
		if c.BearerTokenEnv != "" {
			v, err := env(c.BearerTokenEnv, p+"/bearer_token_env")
			if err != nil {
				return nil, err
			}
			hc.Headers["Authorization"] = "Bearer " + v
		}
		if c.Username != "" {
			v, err := env(c.PasswordEnv, p+"/password_env")
			if err != nil {
				return nil, err
			}
			hc.Username, hc.Password = c.Username, v
		}
		for k, v := range c.Headers {
			hc.Headers[canonicalHeader(k)] = v
		}
		for k, v := range c.Query {
			hc.Query[k] = v
		}
		out[name] = hc
	}
	return out, nil
}

func canonicalHeader(h string) string {
	parts := strings.Split(strings.ToLower(h), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// bucketObjects is Landfall's bucket for aws-sdk:s3 tasks: only the
// installation's bucket name, and for a tenant's execution only keys
// under that tenant's prefixes.
type bucketObjects struct {
	b    *blob.Bucket
	name string
}

func (o bucketObjects) check(tenant, bucket, key string) error {
	if bucket != o.name {
		return errcode.New(errcode.PermissionDenied, "bucket %q is not Landfall's bucket %q", bucket, o.name)
	}
	if tenant == "" {
		return nil
	}
	for _, p := range pipeline.TenantPrefixes(tenant) {
		if strings.HasPrefix(key, p) && !strings.Contains(key, "..") {
			return nil
		}
	}
	return errcode.New(errcode.PermissionDenied, "key %q is outside tenant %s's prefixes (%s)", key, tenant, strings.Join(pipeline.TenantPrefixes(tenant), ", "))
}

func (o bucketObjects) Get(ctx context.Context, tenant, bucket, key string, max int64) ([]byte, string, string, error) {
	if err := o.check(tenant, bucket, key); err != nil {
		return nil, "", "", err
	}
	attrs, err := o.b.Attributes(ctx, key)
	if err != nil {
		return nil, "", "", err
	}
	if attrs.Size > max {
		return nil, "", "", errcode.New(errcode.TooLarge, "object %s is %d bytes, more than the %d a task result holds", key, attrs.Size, max)
	}
	r, err := o.b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, "", "", err
	}
	defer r.Close()
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, "", "", err
	}
	if int64(len(body)) > max {
		return nil, "", "", errcode.New(errcode.TooLarge, "object %s is more than the %d bytes a task result holds", key, max)
	}
	return body, attrs.ContentType, attrs.ETag, nil
}

func (o bucketObjects) Put(ctx context.Context, tenant, bucket, key string, body []byte, contentType string) (string, error) {
	if err := o.check(tenant, bucket, key); err != nil {
		return "", err
	}
	if err := o.b.WriteAll(ctx, key, body, &blob.WriterOptions{ContentType: contentType}); err != nil {
		return "", err
	}
	sum := md5.Sum(body)
	return `"` + hex.EncodeToString(sum[:]) + `"`, nil
}

// bucketMapIO reads distributed Maps' items from and writes their results
// to Landfall's bucket, scoped like the aws-sdk:s3 tasks.
type bucketMapIO struct{ o bucketObjects }

func (m bucketMapIO) OpenItems(ctx context.Context, tenant string, read *asl.ItemRead) (io.ReadCloser, error) {
	p, _ := read.Parameters.(map[string]any)
	bucket, _ := p["Bucket"].(string)
	if strings.HasSuffix(read.Resource, ":listObjectsV2") {
		prefix, _ := p["Prefix"].(string)
		if err := m.o.check(tenant, bucket, prefix); err != nil {
			return nil, err
		}
		return m.list(ctx, prefix)
	}
	key, _ := p["Key"].(string)
	if key == "" {
		return nil, errcode.New(errcode.Invalid, "the ItemReader needs Bucket and Key parameters")
	}
	if err := m.o.check(tenant, bucket, key); err != nil {
		return nil, err
	}
	r, err := m.o.b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// list describes the objects under prefix as a JSON array of {"Key",
// "Size", "ETag", "LastModified"}, as an s3:listObjectsV2 ItemReader
// reads them.
func (m bucketMapIO) list(ctx context.Context, prefix string) (io.ReadCloser, error) {
	var out []map[string]any
	it := m.o.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if obj.IsDir {
			continue
		}
		out = append(out, map[string]any{"Key": obj.Key, "Size": obj.Size, "LastModified": obj.ModTime.UTC().Format(time.RFC3339)})
	}
	if out == nil {
		out = []map[string]any{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m bucketMapIO) WriteResults(ctx context.Context, tenant string, w *asl.ResultWrite) (any, error) {
	bucket, files, details, err := w.Files()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if _, err := m.o.Put(ctx, tenant, bucket, f.Key, f.Body, "application/json"); err != nil {
			return nil, err
		}
	}
	return details, nil
}
