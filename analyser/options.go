package analyser

import (
	"bytes"
	"encoding/json"
)

// DecodeOptions decodes an analyser's options strictly into v: an unknown
// key is an error naming it. Absent or null options leave v as it is.
func DecodeOptions(raw json.RawMessage, v any) error {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
