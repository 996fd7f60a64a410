package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
)

// position is where a value starts in the definition text (1-based line
// and column).
type position struct{ line, column int }

// addPositions sets Line and Column of each error from the definition
// text: the position of the value at the error's pointer or, when that
// value is missing, of its closest existing parent.
func addPositions(def []byte, errs ValidationErrors) {
	trimmed := bytes.TrimSpace(def)
	if len(trimmed) == 0 {
		return
	}
	var pos map[string]position
	if trimmed[0] == '{' {
		pos = jsonPositions(def)
	} else {
		pos = yamlPositions(def)
	}
	if len(pos) == 0 {
		return
	}
	for i := range errs {
		ptr := errs[i].Pointer
		for {
			if p, ok := pos[ptr]; ok {
				errs[i].Line, errs[i].Column = p.line, p.column
				break
			}
			j := strings.LastIndexByte(ptr, '/')
			if j < 0 {
				break
			}
			ptr = ptr[:j]
		}
	}
}

// jsonPositions maps the JSON pointer of every value in b to its position.
func jsonPositions(b []byte) map[string]position {
	pos := map[string]position{}
	lineStarts := []int{0}
	for i, c := range b {
		if c == '\n' {
			lineStarts = append(lineStarts, i+1)
		}
	}
	at := func(off int) position {
		// Binary search for the line holding off.
		lo, hi := 0, len(lineStarts)-1
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if lineStarts[mid] <= off {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		return position{line: lo + 1, column: off - lineStarts[lo] + 1}
	}
	skip := func(off int) int {
		for off < len(b) && (b[off] == ' ' || b[off] == '\t' || b[off] == '\n' || b[off] == '\r' || b[off] == ',' || b[off] == ':') {
			off++
		}
		return off
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []*container
	for {
		off := skip(int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return pos
		}
		var top *container
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				advance(stack[len(stack)-1])
			}
			continue
		}
		if top != nil && top.object && top.expectKey {
			top.key, _ = tok.(string)
			top.expectKey = false
			continue
		}
		ptr := ""
		if top != nil {
			if top.object {
				ptr = top.ptr + "/" + escapePointer(top.key)
			} else {
				ptr = top.ptr + "/" + strconv.Itoa(top.index)
			}
		}
		pos[ptr] = at(off)
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &container{ptr: ptr, object: d == '{', expectKey: d == '{'})
			continue
		}
		if top != nil {
			advance(top)
		}
	}
}

// jsonDuplicateKeys reports every object key that appears twice in the
// JSON text b (decoding would silently keep the last one).
func jsonDuplicateKeys(b []byte) ValidationErrors {
	type obj struct {
		ptr  string
		keys map[string]bool
		key  string
		want bool // expecting a key
		idx  int
		arr  bool
	}
	var errs ValidationErrors
	var stack []*obj
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return errs
		}
		var top *obj
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				if p.arr {
					p.idx++
				} else {
					p.want = true
				}
			}
			continue
		}
		if top != nil && !top.arr && top.want {
			k, _ := tok.(string)
			if top.keys[k] {
				errs = append(errs, ValidationError{Code: CodeSchema, Pointer: top.ptr + "/" + escapePointer(k),
					Message: fmt.Sprintf("duplicate key %q: each field may appear once", k)})
			}
			top.keys[k] = true
			top.key, top.want = k, false
			continue
		}
		ptr := ""
		if top != nil {
			if top.arr {
				ptr = top.ptr + "/" + strconv.Itoa(top.idx)
			} else {
				ptr = top.ptr + "/" + escapePointer(top.key)
			}
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &obj{ptr: ptr, keys: map[string]bool{}, want: d == '{', arr: d == '['})
			continue
		}
		if top != nil {
			if top.arr {
				top.idx++
			} else {
				top.want = true
			}
		}
	}
}

// container is an open JSON object or array while scanning positions.
type container struct {
	ptr       string
	object    bool
	expectKey bool
	key       string
	index     int
}

func advance(c *container) {
	if c.object {
		c.expectKey = true
	} else {
		c.index++
	}
}

// yamlPositions maps the JSON pointer of every value in a YAML document
// to its position.
func yamlPositions(b []byte) map[string]position {
	f, err := yamlparser.ParseBytes(b, 0)
	if err != nil || len(f.Docs) == 0 {
		return nil
	}
	pos := map[string]position{}
	var walk func(n ast.Node, ptr string)
	walk = func(n ast.Node, ptr string) {
		if n == nil {
			return
		}
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			if _, seen := pos[ptr]; !seen {
				pos[ptr] = position{line: tk.Position.Line, column: tk.Position.Column}
			}
		}
		switch t := n.(type) {
		case *ast.DocumentNode:
			walk(t.Body, ptr)
		case *ast.MappingNode:
			for _, v := range t.Values {
				walk(v, ptr)
			}
		case *ast.MappingValueNode:
			key := ""
			if t.Key != nil {
				key = strings.Trim(t.Key.String(), `"'`)
			}
			child := ptr + "/" + escapePointer(key)
			if t.Key != nil {
				if tk := t.Key.GetToken(); tk != nil && tk.Position != nil {
					// A missing value points at its key.
					pos[child] = position{line: tk.Position.Line, column: tk.Position.Column}
				}
			}
			switch t.Value.(type) {
			case *ast.MappingNode, *ast.SequenceNode, nil:
				// A block points at its key.
			default:
				if tk := t.Value.GetToken(); tk != nil && tk.Position != nil {
					pos[child] = position{line: tk.Position.Line, column: tk.Position.Column}
				}
			}
			walk(t.Value, child)
		case *ast.SequenceNode:
			for i, v := range t.Values {
				walk(v, ptr+"/"+strconv.Itoa(i))
			}
		case *ast.AnchorNode:
			walk(t.Value, ptr)
		case *ast.TagNode:
			walk(t.Value, ptr)
		}
	}
	walk(f.Docs[0], "")
	return pos
}
