package rule

import (
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
)

// parseYAML reads a YAML document into the same tree as parseJSON. Numbers
// keep their text when it is a JSON number; each value's offset is where
// it starts in the text. Anchors and aliases are resolved; tags ignored.
func parseYAML(data []byte) (n *jnode, err error) {
	defer func() {
		// The YAML parser is a dependency; a panic in it on hostile input
		// must not take the bus down.
		if r := recover(); r != nil {
			n, err = nil, &SyntaxError{Offset: 0, Line: 1, Column: 1, Msg: fmt.Sprintf("invalid YAML: %v", r)}
		}
	}()
	f, err := yamlparser.ParseBytes(data, 0)
	if err != nil {
		return nil, &SyntaxError{Offset: 0, Line: 1, Column: 1, Msg: "invalid YAML: " + err.Error()}
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, &SyntaxError{Offset: 0, Line: 1, Column: 1, Msg: fmt.Sprintf("want one YAML document, got %d", len(f.Docs))}
	}
	y := &yamlReader{data: data, lineStarts: []int{0}, anchors: map[string]*jnode{}}
	for i, c := range data {
		if c == '\n' {
			y.lineStarts = append(y.lineStarts, i+1)
		}
	}
	return y.node(f.Docs[0].Body, 0)
}

type yamlReader struct {
	data       []byte
	lineStarts []int
	anchors    map[string]*jnode
}

func (y *yamlReader) offset(n ast.Node) int {
	tk := n.GetToken()
	if tk == nil || tk.Position == nil || tk.Position.Line < 1 || tk.Position.Line > len(y.lineStarts) {
		return 0
	}
	off := y.lineStarts[tk.Position.Line-1] + tk.Position.Column - 1
	return min(max(off, 0), len(y.data))
}

func (y *yamlReader) fail(n ast.Node, format string, args ...any) error {
	return syntaxErr(y.data, y.offset(n), format, args...)
}

func (y *yamlReader) node(n ast.Node, depth int) (*jnode, error) {
	if depth > maxDepth {
		return nil, y.fail(n, "nesting deeper than %d", maxDepth)
	}
	off := y.offset(n)
	switch t := n.(type) {
	case *ast.MappingNode:
		obj := &jnode{kind: jObject, off: off, end: off}
		for _, mv := range t.Values {
			if err := y.member(obj, mv, depth); err != nil {
				return nil, err
			}
		}
		return obj, nil
	case *ast.MappingValueNode:
		obj := &jnode{kind: jObject, off: off, end: off}
		if err := y.member(obj, t, depth); err != nil {
			return nil, err
		}
		return obj, nil
	case *ast.SequenceNode:
		arr := &jnode{kind: jArray, off: off, end: off}
		for _, e := range t.Values {
			v, err := y.node(e, depth+1)
			if err != nil {
				return nil, err
			}
			arr.elems = append(arr.elems, v)
		}
		return arr, nil
	case *ast.StringNode:
		return &jnode{kind: jString, off: off, end: off, str: t.Value}, nil
	case *ast.LiteralNode:
		return &jnode{kind: jString, off: off, end: off, str: t.Value.Value}, nil
	case *ast.IntegerNode:
		text := t.Token.Value
		if end, ok := scanNumber([]byte(text), 0); !ok || end != len(text) {
			text = fmt.Sprint(t.Value) // 0x1F, 1_000 and the like
		}
		return &jnode{kind: jNumber, off: off, end: off, str: text}, nil
	case *ast.FloatNode:
		text := t.Token.Value
		if end, ok := scanNumber([]byte(text), 0); !ok || end != len(text) {
			text = strconv.FormatFloat(t.Value, 'g', -1, 64)
		}
		return &jnode{kind: jNumber, off: off, end: off, str: text}, nil
	case *ast.InfinityNode, *ast.NanNode:
		return nil, y.fail(n, "infinity and NaN are not JSON numbers")
	case *ast.BoolNode:
		if t.Value {
			return &jnode{kind: jTrue, off: off, end: off}, nil
		}
		return &jnode{kind: jFalse, off: off, end: off}, nil
	case *ast.NullNode:
		return &jnode{kind: jNull, off: off, end: off}, nil
	case *ast.TagNode:
		return y.node(t.Value, depth+1)
	case *ast.AnchorNode:
		v, err := y.node(t.Value, depth+1)
		if err != nil {
			return nil, err
		}
		y.anchors[t.Name.String()] = v
		return v, nil
	case *ast.AliasNode:
		name := t.Value.String()
		v, ok := y.anchors[name]
		if !ok {
			return nil, y.fail(n, "unknown alias *%s", name)
		}
		return v, nil
	case *ast.DocumentNode:
		return y.node(t.Body, depth)
	}
	return nil, y.fail(n, "unsupported YAML node %s", n.Type())
}

func (y *yamlReader) member(obj *jnode, mv *ast.MappingValueNode, depth int) error {
	var key string
	switch k := mv.Key.(type) {
	case *ast.StringNode:
		key = k.Value
	case nil:
		return y.fail(mv, "mapping without a key")
	default:
		key = k.String()
	}
	var v *jnode
	if mv.Value == nil {
		v = &jnode{kind: jNull, off: y.offset(mv), end: y.offset(mv)}
	} else {
		var err error
		if v, err = y.node(mv.Value, depth+1); err != nil {
			return err
		}
	}
	obj.keys = append(obj.keys, key)
	obj.vals = append(obj.vals, v)
	return nil
}
