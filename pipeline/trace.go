package pipeline

import (
	"context"
	"encoding/json"

	"go.opentelemetry.io/otel/attribute"

	"github.com/landfall/landfall/telemetry"
)

// Traced runs a pipeline task inside a span of its media item's trace.
func Traced(name string, f TaskFunc) TaskFunc {
	return func(ctx context.Context, c Call) (out json.RawMessage, err error) {
		ctx, span := telemetry.Start(ctx, mediaIDOf(c.Input), "task."+name,
			attribute.String("landfall.execution", c.ExecutionARN), attribute.String("landfall.state", c.StatePath),
			attribute.Int("landfall.attempt", c.Attempt))
		defer func() { telemetry.End(span, err) }()
		return f(ctx, c)
	}
}

// mediaIDOf is $.media.id of a task's input or, before register has run,
// the media id of the object the input names.
func mediaIDOf(input []byte) string {
	var in struct {
		Media struct {
			ID string `json:"id"`
		} `json:"media"`
	}
	if json.Unmarshal(input, &in) == nil && in.Media.ID != "" {
		return in.Media.ID
	}
	k, etag, ok, err := ObjectOf(input)
	if !ok || err != nil {
		return ""
	}
	return MediaIDOf(k, etag)
}

// ObjectOf reads the incoming object an execution's input names, as the
// default rule passes it ({"bucket", "key", "size", "etag", …}). ok is
// false when the input names no key; a key that is not a valid incoming
// key is an error.
func ObjectOf(input []byte) (k Key, etag string, ok bool, err error) {
	var in struct {
		Key  string `json:"key"`
		ETag string `json:"etag"`
	}
	if json.Unmarshal(input, &in) != nil || in.Key == "" {
		return Key{}, "", false, nil
	}
	k, err = ParseIncoming(in.Key)
	return k, in.ETag, true, err
}
