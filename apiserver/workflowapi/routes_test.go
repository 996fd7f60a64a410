package workflowapi_test

import (
	"strings"
	"testing"

	"github.com/landfall/landfall/apiserver/workflowapi"
)

// TestRoutes: the route list names every route once, each under one of
// the prefixes the handler is mounted at.
func TestRoutes(t *testing.T) {
	t.Parallel()
	routes := workflowapi.New(nil).Routes()
	if len(routes) < 10 {
		t.Fatalf("Routes() = %q", routes)
	}
	seen := map[string]bool{}
	for _, rt := range routes {
		method, path, ok := strings.Cut(rt, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/v1/") {
			t.Errorf("route %q: want \"METHOD /v1/…\"", rt)
		}
		if seen[rt] {
			t.Errorf("route %q listed twice", rt)
		}
		seen[rt] = true
		mounted := false
		for _, p := range workflowapi.Prefixes {
			if path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("route %q is under none of the mount prefixes %q", rt, workflowapi.Prefixes)
		}
	}
	for _, want := range []string{"POST /v1/state-machines", "GET /v1/executions/{arn}", "POST /v1/tasks/{action}"} {
		if !seen[want] {
			t.Errorf("Routes() lacks %q", want)
		}
	}
}
