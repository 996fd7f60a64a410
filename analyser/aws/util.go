package aws

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"

	"github.com/landfall/landfall/types"
)

func errorsAs[T any](err error, target *T) bool { return errors.As(err, target) }

func strict(raw json.RawMessage, v any) error {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func sortSpeakers(s []types.Speaker) {
	sort.Slice(s, func(i, j int) bool { return s[i].Label < s[j].Label })
}
