package cli

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
)

// sampler keeps a fraction of debug and info lines; warnings and errors
// always pass. Lines about one media item are kept or dropped together
// (sampled by media id), so a kept item's story is whole.
type sampler struct {
	slog.Handler
	keep  float64
	n     atomic.Uint64
	attrs []slog.Attr
}

func (s *sampler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		return s.Handler.Handle(ctx, r)
	}
	key := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "media_id" {
			key = a.Value.String()
			return false
		}
		return true
	})
	for _, a := range s.attrs {
		if a.Key == "media_id" {
			key = a.Value.String()
		}
	}
	var x uint64
	if key != "" {
		h := fnv.New64a()
		h.Write([]byte(key))
		x = h.Sum64()
	} else {
		x = s.n.Add(1) * 0x9E3779B97F4A7C15
	}
	if float64(x%10000)/10000 >= s.keep {
		return nil
	}
	return s.Handler.Handle(ctx, r)
}

func (s *sampler) WithAttrs(as []slog.Attr) slog.Handler {
	return &sampler{Handler: s.Handler.WithAttrs(as), keep: s.keep, attrs: append(append([]slog.Attr(nil), s.attrs...), as...)}
}

func (s *sampler) WithGroup(name string) slog.Handler {
	return &sampler{Handler: s.Handler.WithGroup(name), keep: s.keep, attrs: s.attrs}
}
