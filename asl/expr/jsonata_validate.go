package expr

import (
	"github.com/landfall/landfall/internal/jsonata/jparse"
)

// Step Functions' diagnostic codes for JSONata expressions it refuses when
// a state machine is created.
const (
	codeInvalidJSONata     = "INVALID_JSONATA_EXPRESSION"
	codeUnsupportedJSONata = "UNSUPPORTED_JSONATA_EXPRESSION"
)

// checkJSONataSupport reports what Step Functions refuses in an expression
// that parses: a reference to the context item at the top level (an
// expression runs with no context item, so "phone" must be written
// $states.input.phone) and "$$". The message is Step Functions'.
func checkJSONataSupport(n jparse.Node) string {
	c := &supportChecker{}
	c.walk(n, true)
	return c.msg
}

type supportChecker struct{ msg string }

func (c *supportChecker) fail(msg string) {
	if c.msg == "" {
		c.msg = codeUnsupportedJSONata + ": " + msg
	}
}

// walk visits n; top says whether n is read against the top-level context
// (where a bare name has nothing to read).
func (c *supportChecker) walk(n jparse.Node, top bool) {
	if n == nil || c.msg != "" {
		return
	}
	switch x := n.(type) {
	case *jparse.NameNode:
		if top {
			c.fail("Reference to '" + x.Value + "' at the top level is not supported.")
		}
	case *jparse.VariableNode:
		if x.Name == "$" {
			c.fail("Reference to '$$' is not supported.")
		}
	case *jparse.PathNode:
		for i, st := range x.Steps {
			c.walk(st, top && i == 0)
		}
	case *jparse.PredicateNode:
		c.walk(x.Expr, top)
		for _, f := range x.Filters {
			c.walk(f, false)
		}
	case *jparse.SortNode:
		c.walk(x.Expr, top)
		for _, t := range x.Terms {
			c.walk(t.Expr, false)
		}
	case *jparse.GroupNode:
		c.walk(x.Expr, top)
		if x.ObjectNode != nil {
			for _, p := range x.ObjectNode.Pairs {
				c.walk(p[0], false)
				c.walk(p[1], false)
			}
		}
	case *jparse.ObjectNode:
		for _, p := range x.Pairs {
			c.walk(p[0], top)
			c.walk(p[1], top)
		}
	case *jparse.ArrayNode:
		for _, it := range x.Items {
			c.walk(it, top)
		}
	case *jparse.BlockNode:
		for _, e := range x.Exprs {
			c.walk(e, top)
		}
	case *jparse.FunctionCallNode:
		c.walk(x.Func, top)
		for _, a := range x.Args {
			c.walk(a, top)
		}
	case *jparse.PartialNode:
		c.walk(x.Func, top)
		for _, a := range x.Args {
			c.walk(a, top)
		}
	case *jparse.LambdaNode:
		// A lambda body keeps the context of the expression defining it.
		c.walk(x.Body, top)
	case *jparse.TypedLambdaNode:
		if x.LambdaNode != nil {
			c.walk(x.LambdaNode.Body, top)
		}
	case *jparse.ConditionalNode:
		c.walk(x.If, top)
		c.walk(x.Then, top)
		c.walk(x.Else, top)
	case *jparse.AssignmentNode:
		c.walk(x.Value, top)
	case *jparse.NegationNode:
		c.walk(x.RHS, top)
	case *jparse.RangeNode:
		c.walk(x.LHS, top)
		c.walk(x.RHS, top)
	case *jparse.NumericOperatorNode:
		c.walk(x.LHS, top)
		c.walk(x.RHS, top)
	case *jparse.ComparisonOperatorNode:
		c.walk(x.LHS, top)
		c.walk(x.RHS, top)
	case *jparse.BooleanOperatorNode:
		c.walk(x.LHS, top)
		c.walk(x.RHS, top)
	case *jparse.StringConcatenationNode:
		c.walk(x.LHS, top)
		c.walk(x.RHS, top)
	case *jparse.FunctionApplicationNode:
		c.walk(x.LHS, top)
		c.walk(x.RHS, top)
	case *jparse.ObjectTransformationNode:
		// Evaluated against the object being transformed.
		c.walk(x.Pattern, false)
		c.walk(x.Updates, false)
		c.walk(x.Deletes, false)
	}
}
