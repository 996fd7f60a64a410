package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/errcode"
)

// ResultRef is what a task returns into $.results: where its full output
// is stored, the output itself when it is small, and where the list of the
// files it declared for later tasks is stored.
type ResultRef struct {
	Ref       string          `json:"ref"`
	Output    json.RawMessage `json:"output,omitempty"`
	Artefacts string          `json:"artefacts,omitempty"`
}

// InlineLimit keeps state small: Step Functions limits payloads to 256 KiB.
const InlineLimit = 8 << 10

// StoredArtefact is one entry of a result's artefact list: a declared file,
// and the key it was shipped to (empty when every worker shares this
// machine's work folders).
type StoredArtefact struct {
	analyser.Artefact
	Key string `json:"key,omitempty"`
}

// result is a loaded task result.
type result struct {
	output    json.RawMessage
	artefacts []StoredArtefact
}

// loadResult returns a task's full output and declared files from its
// reference. Stored results are read through the scope: a reference to
// another tenant's results, or to anything but a work/ key, is refused.
func loadResult(ctx context.Context, s *Scope, raw json.RawMessage, field string) (*result, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var r ResultRef
	if err := json.Unmarshal(raw, &r); err != nil || r.Ref == "" {
		return &result{output: raw}, nil // not a reference: the output itself
	}
	for _, k := range []string{r.Ref, r.Artefacts} {
		if k == "" {
			continue
		}
		key, err := s.Bucket.Key(k)
		if err != nil {
			return nil, errcode.Wrap(errcode.ForbiddenReference, err, "%s", field)
		}
		if key.Area != AreaWork {
			return nil, forbidden("%s: %q is not a stored result (work/%s/…)", field, k, s.Tenant)
		}
	}
	out, err := s.Bucket.ReadAll(ctx, r.Ref)
	if err != nil {
		return nil, err
	}
	res := &result{output: out}
	if r.Artefacts != "" {
		b, err := s.Bucket.ReadAll(ctx, r.Artefacts)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &res.artefacts); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "%s: artefact list %s", field, r.Artefacts)
		}
	}
	return res, nil
}

// storeResult stores a task's output (and its artefact list) under
// work/<tenant>/<media id>/ and returns the reference for the state.
func storeResult(ctx context.Context, s *Scope, mediaID, name string, out []byte, arts []StoredArtefact) (json.RawMessage, error) {
	k, err := WorkKey(s.Tenant, mediaID, name+".json")
	if err != nil {
		return nil, err
	}
	if err := s.Bucket.WriteAll(ctx, k, out, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return nil, err
	}
	ref := ResultRef{Ref: k.String()}
	if len(out) <= InlineLimit {
		ref.Output = out
	}
	if len(arts) > 0 {
		ak, err := WorkKey(s.Tenant, mediaID, name+".artefacts.json")
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(arts)
		if err != nil {
			return nil, err
		}
		if err := s.Bucket.WriteAll(ctx, ak, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
			return nil, err
		}
		ref.Artefacts = ak.String()
	}
	return json.Marshal(ref)
}

// shipArtefacts checks the files an analyser declared and, when workers
// do not share this machine's work folders, uploads each to
// work/<tenant>/<media id>/files/<name>. A declared file must lie in the
// media's work folder at its name: an analyser cannot hand over a file
// from anywhere else.
func shipArtefacts(ctx context.Context, s *Scope, mediaID, dir string, declared []analyser.Artefact, share bool) ([]StoredArtefact, error) {
	var out []StoredArtefact
	seen := map[string]bool{}
	for _, a := range declared {
		if seen[a.Name] {
			continue
		}
		seen[a.Name] = true
		if err := CheckRelPath(a.Name); err != nil {
			return nil, errcode.Wrap(errcode.ProviderBadOutput, err, "declared artefact")
		}
		want, err := within(dir, filepath.FromSlash(a.Name))
		if err != nil || filepath.Clean(a.Path) != want {
			return nil, errcode.New(errcode.ProviderBadOutput, "declared artefact %q: path %q is not %s", a.Name, a.Path, want)
		}
		sa := StoredArtefact{Artefact: a}
		if share {
			k, err := WorkKey(s.Tenant, mediaID, "files/"+a.Name)
			if err != nil {
				return nil, err
			}
			if ok, _ := s.Bucket.Exists(ctx, k.String()); !ok {
				if err := uploadFile(ctx, s, k, a); err != nil {
					return nil, err
				}
			}
			sa.Key = k.String()
		}
		out = append(out, sa)
	}
	return out, nil
}

func uploadFile(ctx context.Context, s *Scope, k Key, a analyser.Artefact) error {
	f, err := os.Open(a.Path)
	if err != nil {
		return errcode.Wrap(errcode.ProviderBadOutput, err, "declared artefact %q", a.Name)
	}
	defer f.Close()
	return s.Bucket.Upload(ctx, k, f, &blob.WriterOptions{ContentType: a.MediaType})
}

// localiseArtefacts puts every artefact of a loaded result at its name in
// this worker's work folder (downloading what is not there) and, where
// that path differs from the producer's, replaces the declared path in the
// output. Only values equal to a declared path change; no other string of
// the output is touched.
func localiseArtefacts(ctx context.Context, s *Scope, dir string, r *result) error {
	if r == nil || len(r.artefacts) == 0 {
		return nil
	}
	moved := map[string]string{}
	for _, a := range r.artefacts {
		if err := CheckRelPath(a.Name); err != nil {
			return errcode.Wrap(errcode.ForbiddenReference, err, "artefact")
		}
		local, err := within(dir, filepath.FromSlash(a.Name))
		if err != nil {
			return err
		}
		if _, err := os.Stat(local); err != nil {
			if a.Key == "" {
				return errcode.New(errcode.Unavailable, "artefact %q is not in this worker's work folder and was not shipped", a.Name)
			}
			if err := fetch(ctx, s, a.Key, local); err != nil {
				return err
			}
		}
		if a.Path != local {
			moved[a.Path] = local
		}
	}
	if len(moved) == 0 {
		return nil
	}
	v, err := decodeNumbers(r.output)
	if err != nil {
		return errcode.Wrap(errcode.Invalid, err, "result with artefacts")
	}
	v = walkStrings(v, func(s string) string {
		if l, ok := moved[s]; ok {
			return l
		}
		return s
	})
	r.output, err = json.Marshal(v)
	return err
}

// fetch downloads key to local through a temporary file, so a crash never
// leaves a partial file at local.
func fetch(ctx context.Context, s *Scope, key, local string) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(local), ".fetch-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = s.Bucket.Download(ctx, key, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), local)
}

// decodeNumbers decodes JSON keeping numbers as written.
func decodeNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// walkStrings applies f to every string value in a decoded JSON value.
func walkStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case []any:
		for i := range x {
			x[i] = walkStrings(x[i], f)
		}
	case map[string]any:
		for k := range x {
			x[k] = walkStrings(x[k], f)
		}
	}
	return v
}
