package workflowapi

import (
	"net/http"
	"slices"
	"strings"
)

// routeRecorder registers the API's routes on its mux and lists them.
type routeRecorder struct{ h *Handler }

func (r routeRecorder) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	if strings.Contains(pattern, " ") { // the catch-all "/" answers 404 and is no route
		r.h.routes = append(r.h.routes, pattern)
	}
	r.h.mux.HandleFunc(pattern, f)
}

// Routes lists the "METHOD /path/{param}" pattern of every route the
// handler serves, for route tables and tests that must cover each one.
func (h *Handler) Routes() []string { return slices.Clone(h.routes) }
