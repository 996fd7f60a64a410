package asl

import (
	"encoding/json"
	"testing"

	"github.com/landfall/landfall/asl/expr"
)

// TestJSONSize checks the allocation-free size against the real encoder.
func TestJSONSize(t *testing.T) {
	for _, text := range []string{
		`null`, `true`, `false`, `0`, `-1.5e10`, `""`, `"a\"b\\c\n\u0001\u2028é😀<>&"`,
		`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"d"}`, `[[],[{}],"x"]`,
	} {
		v, err := expr.Decode([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := expr.Marshal(v)
		for _, limit := range []int{len(b) - 1, len(b)} {
			if got, want := jsonSizeExceeds(v, limit), len(b) > limit; got != want {
				t.Errorf("%s (%d bytes): exceeds %d = %v, want %v", text, len(b), limit, got, want)
			}
		}
	}
	var _ = json.Number("1")
}
