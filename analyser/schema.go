package analyser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*jsonschema.Schema{}
)

// CheckOutputSchema reports an output schema that is missing, not JSON or
// not a JSON Schema that compiles.
func CheckOutputSchema(s Spec) error {
	if len(s.OutputSchema) == 0 {
		return fmt.Errorf("%s: no output schema", s.ID)
	}
	_, err := compiled(s)
	return err
}

// ValidateOutput checks an analyser's output against its Spec's
// OutputSchema. An analyser without a schema passes.
func ValidateOutput(s Spec, out any) error {
	if len(s.OutputSchema) == 0 {
		return nil
	}
	sch, err := compiled(s)
	if err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s: output does not match its schema: %w", s.ID, err)
	}
	return nil
}

// compiled returns the spec's compiled output schema, compiling it once
// per analyser id.
func compiled(s Spec) (*jsonschema.Schema, error) {
	schemaMu.Lock()
	sch, ok := schemaCache[s.ID]
	if !ok {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.OutputSchema))
		if err != nil {
			schemaMu.Unlock()
			return nil, fmt.Errorf("%s: output schema: %w", s.ID, err)
		}
		c := jsonschema.NewCompiler()
		url := "landfall:" + s.ID + ".json"
		if err := c.AddResource(url, doc); err != nil {
			schemaMu.Unlock()
			return nil, err
		}
		if sch, err = c.Compile(url); err != nil {
			schemaMu.Unlock()
			return nil, fmt.Errorf("%s: output schema: %w", s.ID, err)
		}
		schemaCache[s.ID] = sch
	}
	schemaMu.Unlock()
	return sch, nil
}
