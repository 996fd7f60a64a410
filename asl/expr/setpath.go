package expr

import "maps"

// ReferencePath is a compiled reference path (ResultPath): a definite
// JSONPath of names and indexes that names where to put a value.
type ReferencePath struct {
	path *Path
}

// CompileReferencePath compiles a ResultPath value. It must be "$" or a
// definite path of names and array indexes rooted at "$".
func CompileReferencePath(s string) (*ReferencePath, error) {
	p, err := CompilePath(s)
	if err != nil {
		return nil, err
	}
	if p.root != RootInput {
		return nil, &CompileError{Expr: s, Offset: 0, Msg: "a reference path must start with '$' and not '$$' or a variable"}
	}
	if !p.definite || p.fn != "" {
		return nil, &CompileError{Expr: s, Offset: -1, Msg: "a reference path must be definite (names and indexes only: no '..', '*', slices, unions, filters or functions)"}
	}
	return &ReferencePath{path: p}, nil
}

// String returns the path as written.
func (r *ReferencePath) String() string { return r.path.src }

// Set returns doc with value placed at the path, as ResultPath does: "$"
// returns value; otherwise doc is copied along the path (doc itself is not
// modified), missing objects on the way are created, and an existing
// non-object on the way (or an array index out of range) is a
// States.ResultPathMatchFailure error.
func (r *ReferencePath) Set(doc any, value any) (any, error) {
	if len(r.path.segs) == 0 {
		return value, nil
	}
	nv, err := r.set(doc, 0, value)
	if err == errMatch {
		return nil, &Error{Name: ErrNameResultPathMatch, Cause: "Unable to apply ReferencePath " + r.path.src + " to input " + quoteJSON(MarshalString(doc))}
	}
	return nv, err
}

// errMatch is set's internal "cannot apply" signal; Set turns it into the
// States.ResultPathMatchFailure error naming the whole input.
var errMatch = &Error{Name: ErrNameResultPathMatch}

func (r *ReferencePath) set(node any, i int, value any) (any, error) {
	if i == len(r.path.segs) {
		return value, nil
	}
	sg := &r.path.segs[i]
	switch sg.kind {
	case segName:
		var m map[string]any
		switch x := node.(type) {
		case map[string]any:
			if _, replacing := x[sg.name]; replacing {
				m = maps.Clone(x) // same keys: a bulk copy
			} else {
				m = make(map[string]any, len(x)+1)
				for k, v := range x {
					m[k] = v
				}
			}
		case nil:
			if i == 0 {
				return nil, errMatch
			}
			m = make(map[string]any, 1)
		default:
			return nil, errMatch
		}
		child, ok := m[sg.name]
		if !ok {
			child = nil
		}
		nv, err := r.set(child, i+1, value)
		if err != nil {
			return nil, err
		}
		m[sg.name] = nv
		return m, nil
	case segIndex:
		a, ok := node.([]any)
		if !ok {
			return nil, errMatch
		}
		idx := sg.index
		if idx < 0 {
			idx += len(a)
		}
		if idx < 0 || idx >= len(a) {
			return nil, errMatch
		}
		c := make([]any, len(a))
		copy(c, a)
		nv, err := r.set(a[idx], i+1, value)
		if err != nil {
			return nil, err
		}
		c[idx] = nv
		return c, nil
	}
	return nil, errMatch
}

// quoteJSON wraps s in double quotes, escaping inner quotes and
// backslashes, as Step Functions quotes an input inside a cause.
func quoteJSON(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(append(b, '"'))
}

// SetPath places value in doc at refPath (ResultPath semantics, see
// ReferencePath.Set). Compile the path once with CompileReferencePath when
// it is used repeatedly.
func SetPath(doc any, refPath string, value any) (any, error) {
	r, err := CompileReferencePath(refPath)
	if err != nil {
		return nil, err
	}
	return r.Set(doc, value)
}
